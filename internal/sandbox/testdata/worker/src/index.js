// Fixture Worker for the sandbox's end-to-end tests: the same /health shape as the product's
// Worker, so the sandbox edge and the real thing answer alike.
import { DurableObject } from "cloudflare:workers";

export class Counter extends DurableObject {
  async fetch() {
    const n = ((await this.ctx.storage.get("n")) ?? 0) + 1;
    await this.ctx.storage.put("n", n);
    return new Response(String(n));
  }
}

export class Gauge extends DurableObject {
  async fetch() {
    return new Response("gauge");
  }
}

export default {
  async fetch(request, env) {
    return Response.json({
      status: "ok",
      tenant: env.TENANT_ID,
      env: env.ENVIRONMENT,
      version_id: env.CF_VERSION_METADATA?.id,
    });
  },
  async scheduled(_controller, env) {
    await env.CACHE.put("last-cron", new Date().toISOString());
  },
};
