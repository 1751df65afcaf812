import type { Env } from "./env.js";
import { HttpError } from "./http.js";

// Feature flags come from the tenant's vars (FEATURE_*), which mirror "features"
// in tenant.config.json. Only the exact string "true" turns a feature on, so a
// typo in the config leaves it off rather than on.
export type Feature = "vector_search" | "ai_chat";

const flagVar: Record<Feature, keyof Env> = {
  vector_search: "FEATURE_VECTOR_SEARCH",
  ai_chat: "FEATURE_AI_CHAT",
};

export function isEnabled(env: Env, feature: Feature): boolean {
  return env[flagVar[feature]] === "true";
}

export function enabledFeatures(env: Env): Feature[] {
  return (Object.keys(flagVar) as Feature[]).filter((f) => isEnabled(env, f));
}

export function requireFeature(env: Env, feature: Feature): void {
  if (!isEnabled(env, feature)) {
    throw new HttpError(403, "feature_disabled", `the ${feature} feature is not enabled for this tenant`, {
      feature,
    });
  }
}
