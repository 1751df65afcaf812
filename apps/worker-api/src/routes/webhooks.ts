import { HttpError, json, readBody } from "../http.js";
import type { Context } from "../router.js";

// POST /webhooks accepts events signed with the tenant's WEBHOOK_SIGNING_KEY
// secret: header "x-signature-256: sha256=<hex HMAC-SHA256 of the raw body>".
// The comparison is crypto.subtle.verify, which does not leak timing.
export const signatureHeader = "x-signature-256";
export const maxWebhookBytes = 64 * 1024;
export const lastWebhookKey = "webhook:last-received";

export async function receiveWebhook(request: Request, c: Context): Promise<Response> {
  const secret = c.env.WEBHOOK_SIGNING_KEY;
  if (!secret) {
    throw new HttpError(503, "not_configured", "webhooks are not configured for this environment", {
      hint: "set the WEBHOOK_SIGNING_KEY secret (wrangler secret put, or .dev.vars for local dev)",
    });
  }
  const body = await readBody(request, maxWebhookBytes);
  const signature = parseSignature(request.headers.get(signatureHeader));
  if (signature === null || !(await verify(secret, body, signature))) {
    throw new HttpError(401, "bad_signature", `the ${signatureHeader} header does not match the body`);
  }
  const receivedAt = c.now().toISOString();
  await c.env.CACHE.put(lastWebhookKey, JSON.stringify({ received_at: receivedAt, bytes: body.byteLength }));
  c.log.info("webhook accepted", { bytes: body.byteLength });
  return json({ accepted: true, received_at: receivedAt }, 202);
}

function parseSignature(header: string | null): Uint8Array | null {
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header?.trim() ?? "");
  if (m === null) return null;
  const hex = m[1]!;
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

async function verify(secret: string, body: ArrayBuffer, signature: Uint8Array): Promise<boolean> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  return crypto.subtle.verify("HMAC", key, signature, body);
}
