import { json } from "../http.js";
import type { Context } from "../router.js";

// GET /health is what the deploy tool polls after an upload: it must name the
// tenant, the environment and the running version, so that a healthy answer from
// the previous version (or from another tenant) is not mistaken for success.
// Anything missing makes the answer 503 "degraded" with the list of problems.
export function health(_request: Request, c: Context): Response {
  const { env } = c;
  const meta = env.CF_VERSION_METADATA;
  const problems: string[] = [];
  if (!env.TENANT_ID) problems.push("var TENANT_ID is not set");
  if (!env.ENVIRONMENT) problems.push("var ENVIRONMENT is not set");
  if (!meta?.id) problems.push("binding CF_VERSION_METADATA is missing");

  const body: Record<string, unknown> = {
    status: problems.length === 0 ? "ok" : "degraded",
    tenant: env.TENANT_ID ?? null,
    env: env.ENVIRONMENT ?? null,
    version_id: meta?.id ?? null,
    version_tag: meta?.tag ?? null,
    version_timestamp: meta?.timestamp ?? null,
    timestamp: c.now().toISOString(),
  };
  if (problems.length > 0) body["problems"] = problems;
  return json(body, problems.length === 0 ? 200 : 503);
}
