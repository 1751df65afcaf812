// Fixture Worker: answers /health the way the product's Worker does.
import { DurableObject } from "cloudflare:workers";

export class Counter extends DurableObject {
  async fetch() {
    return new Response("1");
  }
}

export default {
  async fetch(_request, env) {
    return Response.json({
      status: "ok",
      tenant: env.TENANT_ID,
      env: env.ENVIRONMENT,
      version_id: env.CF_VERSION_METADATA?.id,
    });
  },
};
