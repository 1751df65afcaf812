// The bindings and vars that every tenant's wrangler.jsonc gives the Worker.
// Vars arrive as strings; secrets may be absent (wrangler dev without .dev.vars),
// so they are optional here and every reader has to cope with their absence.
export interface Env {
  // vars
  TENANT_ID: string;
  ENVIRONMENT: string;
  LOG_LEVEL?: string;
  FEATURE_VECTOR_SEARCH?: string;
  FEATURE_AI_CHAT?: string;

  // bindings
  CACHE: KVNamespace;
  COUNTER: DurableObjectNamespace;
  VECTORIZE?: Vectorize;
  AI?: Ai;
  CF_VERSION_METADATA?: WorkerVersionMetadata;

  // secrets (names listed in tenant.config.json required_secrets)
  AI_GATEWAY_TOKEN?: string;
  WEBHOOK_SIGNING_KEY?: string;
}
