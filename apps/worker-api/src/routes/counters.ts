import { json, readBody } from "../http.js";
import { checkName } from "../names.js";
import type { Context } from "../router.js";

// /counters/:name forwards to the Counter Durable Object of that name. The
// object answers with JSON already; its status and body are passed through.
export async function getCounter(_request: Request, c: Context): Promise<Response> {
  const name = checkName("name", c.params["name"]);
  const res = await stub(c, name).fetch("https://counter/value");
  return relay(res, name, c.requestId);
}

export async function incrementCounter(request: Request, c: Context): Promise<Response> {
  const name = checkName("name", c.params["name"]);
  const body = await readBody(request, 1024);
  const res = await stub(c, name).fetch("https://counter/increment", { method: "POST", body });
  return relay(res, name, c.requestId);
}

function stub(c: Context, name: string) {
  return c.env.COUNTER.get(c.env.COUNTER.idFromName(name));
}

async function relay(res: Response, name: string, requestId: string): Promise<Response> {
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status >= 400) body["request_id"] = requestId;
  return json({ name, ...body }, res.status);
}
