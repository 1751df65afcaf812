// Entry module of the tenant API Worker. Every tenant deploys this same code; what
// differs per tenant and environment (names, bindings, feature flags) comes from
// tenants/<tenant>/wrangler.jsonc.
import { runScheduled } from "./cron.js";
import type { Env } from "./env.js";
import { HttpError, errorResponse } from "./http.js";
import { newLogger } from "./log.js";
import { match, type Context, type Route } from "./router.js";
import { chat } from "./routes/chat.js";
import { getCounter, incrementCounter } from "./routes/counters.js";
import { health } from "./routes/health.js";
import { deleteNote, getNote, putNote } from "./routes/notes.js";
import { search } from "./routes/search.js";
import { status } from "./routes/status.js";
import { receiveWebhook } from "./routes/webhooks.js";

// The runtime finds Durable Object classes among the entry module's exports.
export { Counter } from "./counter.js";

export const routes: readonly Route[] = [
  { method: "GET", pattern: "/health", handler: health },
  { method: "GET", pattern: "/status", handler: status },
  { method: "GET", pattern: "/notes/:key", handler: getNote },
  { method: "PUT", pattern: "/notes/:key", handler: putNote },
  { method: "DELETE", pattern: "/notes/:key", handler: deleteNote },
  { method: "GET", pattern: "/counters/:name", handler: getCounter },
  { method: "POST", pattern: "/counters/:name/increment", handler: incrementCounter },
  { method: "POST", pattern: "/search", handler: search },
  { method: "POST", pattern: "/chat", handler: chat },
  { method: "POST", pattern: "/webhooks", handler: receiveWebhook },
];

export async function handleFetch(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  now: () => Date = () => new Date(),
): Promise<Response> {
  const requestId = request.headers.get("cf-ray") ?? crypto.randomUUID();
  const log = newLogger(env.LOG_LEVEL, { tenant: env.TENANT_ID, env: env.ENVIRONMENT, request_id: requestId });
  const url = new URL(request.url);
  try {
    const { handler, params } = match(routes, request.method, url.pathname);
    const c: Context = { env, ctx, log, requestId, params, url, now };
    return await handler(request, c);
  } catch (err) {
    if (err instanceof HttpError) {
      log.debug("request refused", { method: request.method, path: url.pathname, status: err.status, error: err.code });
      return errorResponse(err, requestId);
    }
    // Unknown errors may carry binding internals or request data: log them with
    // the request id, answer with a generic message that points at that id.
    log.error("unhandled error", {
      method: request.method,
      path: url.pathname,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
    return errorResponse(
      new HttpError(500, "internal_error", "the request failed; quote the request_id when reporting it"),
      requestId,
    );
  }
}

export default {
  fetch(request, env, ctx) {
    return handleFetch(request, env, ctx);
  },

  async scheduled(controller, env, ctx) {
    const log = newLogger(env.LOG_LEVEL, { tenant: env.TENANT_ID, env: env.ENVIRONMENT, cron: controller.cron });
    ctx.waitUntil(
      runScheduled(controller, env, log, new Date()).then(
        () => undefined,
        (err: unknown) => {
          log.error("cron failed", { error: err instanceof Error ? err.message : String(err) });
          throw err;
        },
      ),
    );
  },
} satisfies ExportedHandler<Env>;
