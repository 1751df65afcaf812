import type { Env } from "./env.js";
import { HttpError } from "./http.js";
import type { Logger } from "./log.js";

// What a route handler gets besides the request. `now` is injected so that
// handlers and tests agree on time without touching the global clock.
export interface Context {
  env: Env;
  ctx: ExecutionContext;
  log: Logger;
  requestId: string;
  params: Record<string, string>;
  url: URL;
  now: () => Date;
}

export type Handler = (request: Request, c: Context) => Promise<Response> | Response;

export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  // Literal segments and ":name" placeholders, e.g. "/notes/:key".
  pattern: string;
  handler: Handler;
}

export interface Match {
  handler: Handler;
  params: Record<string, string>;
}

// Finds the handler for a request. A path that exists under another method is a
// 405 with an Allow header rather than a 404, so a client sees its mistake.
// HEAD is served by the GET handler; the runtime drops the body.
export function match(routes: readonly Route[], method: string, pathname: string): Match {
  const segments = splitPath(pathname);
  const allowed = new Set<string>();
  for (const route of routes) {
    const params = matchPattern(route.pattern, segments);
    if (params === null) continue;
    if (route.method === method || (method === "HEAD" && route.method === "GET")) {
      return { handler: route.handler, params };
    }
    allowed.add(route.method);
    if (route.method === "GET") allowed.add("HEAD");
  }
  if (allowed.size > 0) {
    const allow = [...allowed].sort().join(", ");
    throw new HttpError(405, "method_not_allowed", `use one of: ${allow}`, {}, { allow });
  }
  throw new HttpError(404, "not_found", `no route for ${method} ${pathname}`);
}

function splitPath(pathname: string): string[] {
  return pathname.split("/").filter((s) => s !== "");
}

function matchPattern(pattern: string, segments: string[]): Record<string, string> | null {
  const parts = splitPath(pattern);
  if (parts.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const seg = segments[i]!;
    if (part.startsWith(":")) {
      let value: string;
      try {
        value = decodeURIComponent(seg);
      } catch {
        return null;
      }
      params[part.slice(1)] = value;
    } else if (part !== seg) {
      return null;
    }
  }
  return params;
}
