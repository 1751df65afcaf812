import type { Env } from "./env.js";
import { HttpError, errorResponse, json } from "./http.js";

// Counter is the Durable Object behind /counters/:name: one instance per name,
// so increments of one name are serialised by the runtime without locks. It is
// declared in new_sqlite_classes, so its storage is SQLite-backed; the key-value
// storage API is enough for one number.
export class Counter implements DurableObject {
  private readonly state: DurableObjectState;

  constructor(state: DurableObjectState, _env: Env) {
    this.state = state;
  }

  async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    try {
      if (request.method === "GET" && pathname === "/value") {
        return json({ value: await this.read() });
      }
      if (request.method === "POST" && pathname === "/increment") {
        const by = await readStep(request);
        const value = (await this.read()) + by;
        if (!Number.isSafeInteger(value)) {
          throw new HttpError(409, "counter_overflow", "the counter cannot grow any further");
        }
        await this.state.storage.put("value", value);
        return json({ value });
      }
      throw new HttpError(404, "not_found", `the counter has no ${request.method} ${pathname}`);
    } catch (err) {
      if (err instanceof HttpError) return errorResponse(err);
      throw err;
    }
  }

  private async read(): Promise<number> {
    return (await this.state.storage.get<number>("value")) ?? 0;
  }
}

export const maxStep = 1000;

async function readStep(request: Request): Promise<number> {
  const text = await request.text();
  if (text === "") return 1;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "invalid_json", "the body is not valid JSON");
  }
  const by = (body as { by?: unknown } | null)?.by ?? 1;
  if (typeof by !== "number" || !Number.isInteger(by) || by < 1 || by > maxStep) {
    throw new HttpError(400, "invalid_step", `"by" must be an integer from 1 to ${maxStep}`, { field: "by" });
  }
  return by;
}
