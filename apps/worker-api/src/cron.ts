import type { Env } from "./env.js";
import type { Logger } from "./log.js";

// The hourly cron ("0 * * * *" in wrangler.jsonc) records that it ran, so that
// /status can show a stale scheduler. Locally it is fired with
// curl "http://127.0.0.1:<port>/cdn-cgi/handler/scheduled".
export const lastRunKey = "cron:last-run";

export interface CronRun {
  cron: string;
  scheduled_time: string;
  ran_at: string;
}

export async function runScheduled(
  controller: Pick<ScheduledController, "cron" | "scheduledTime">,
  env: Env,
  log: Logger,
  now: Date,
): Promise<CronRun> {
  const run: CronRun = {
    cron: controller.cron,
    scheduled_time: new Date(controller.scheduledTime).toISOString(),
    ran_at: now.toISOString(),
  };
  await env.CACHE.put(lastRunKey, JSON.stringify(run));
  log.info("cron ran", { cron: run.cron, scheduled_time: run.scheduled_time });
  return run;
}
