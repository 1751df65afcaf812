import { lastRunKey, type CronRun } from "../cron.js";
import { enabledFeatures } from "../features.js";
import { json } from "../http.js";
import type { Context } from "../router.js";

// GET /status: the tenant's public runtime facts and the last cron run, which
// the scheduled handler writes to KV. Unlike /health it touches a binding, so
// it shows whether KV answers.
export async function status(_request: Request, c: Context): Promise<Response> {
  const lastCron = await c.env.CACHE.get<CronRun>(lastRunKey, { type: "json" });
  return json({
    tenant: c.env.TENANT_ID,
    env: c.env.ENVIRONMENT,
    features: enabledFeatures(c.env),
    last_cron: lastCron,
  });
}
