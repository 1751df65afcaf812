import { HttpError } from "./http.js";
import type { Logger } from "./log.js";

// AI and Vectorize exist only on Cloudflare. Under `wrangler dev --local` the
// binding objects are present but every call throws "Binding X needs to be run
// remotely"; in a test or a misconfigured env the binding may be missing
// altogether. Both become a 503 that says what to do, instead of a bare 500.
const remoteOnly = /needs to be run remotely/i;

export async function callRemoteBinding<B, T>(
  name: string,
  binding: B | undefined,
  call: (binding: B) => Promise<T>,
  log: Logger,
): Promise<T> {
  if (binding === undefined || binding === null) {
    throw unavailable(name, `the ${name} binding is not configured in this environment`);
  }
  try {
    return await call(binding);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    if (remoteOnly.test(message)) {
      throw unavailable(name, `the ${name} binding runs only on Cloudflare, not in local dev`);
    }
    // The upstream message may quote the request: log it, never return it.
    log.error("binding call failed", { binding: name, error: message });
    throw new HttpError(502, "upstream_error", `the ${name} service failed`, { binding: name });
  }
}

function unavailable(name: string, message: string): HttpError {
  return new HttpError(
    503,
    "binding_unavailable",
    message,
    { binding: name, hint: "use a staging or production deployment (or wrangler dev --remote with credentials)" },
    { "retry-after": "3600" },
  );
}
