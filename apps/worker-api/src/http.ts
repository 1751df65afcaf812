// JSON responses and the one error type that route handlers throw. Every error
// body has the same shape, {"error": <code>, "message": <text>, ...}, so clients
// and the deploy tool's health check can read failures without parsing prose.

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: string,
    message: string,
    details: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      // Responses carry tenant data; never let a shared cache keep them.
      "cache-control": "no-store",
      ...headers,
    },
  });
}

// requestId is omitted inside a Durable Object, which has no request of its own to
// name; the Worker that relays the answer adds its id.
export function errorResponse(err: HttpError, requestId?: string): Response {
  const body: Record<string, unknown> = { error: err.code, message: err.message, ...err.details };
  if (requestId !== undefined) body["request_id"] = requestId;
  return json(body, err.status, err.headers);
}

// Reads the raw body, refusing more than maxBytes. A declared Content-Length is
// checked first so that a big upload is refused without reading it; the bytes
// are checked again because a client may omit or misstate that header.
export async function readBody(request: Request, maxBytes: number): Promise<ArrayBuffer> {
  const tooLarge = () => new HttpError(413, "payload_too_large", `the body must be at most ${maxBytes} bytes`);
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw tooLarge();
  const bytes = await request.arrayBuffer();
  if (bytes.byteLength > maxBytes) throw tooLarge();
  return bytes;
}

// Reads a JSON object body, refusing oversized or malformed input before it
// reaches a binding.
export async function readJsonObject(request: Request, maxBytes: number): Promise<Record<string, unknown>> {
  const type = request.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) {
    throw new HttpError(415, "unsupported_media_type", "send the body as application/json");
  }
  const bytes = await readBody(request, maxBytes);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new HttpError(400, "invalid_json", "the body is not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new HttpError(400, "invalid_json", "the body must be a JSON object");
  }
  return parsed as Record<string, unknown>;
}
