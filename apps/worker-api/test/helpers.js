import { handleFetch } from "../.test-build/index.js";
import { newCtx } from "./fakes.js";

export const fixedNow = new Date("2026-11-28T12:34:56.000Z");

// Sends one request through the Worker's fetch path and returns status, headers
// and the parsed JSON body (null for an empty body).
export async function send(env, method, path, { body, headers = {} } = {}) {
  const init = { method, headers };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    if (typeof body !== "string" && !("content-type" in headers)) {
      init.headers = { "content-type": "application/json", ...headers };
    }
  }
  const res = await handleFetch(new Request(`https://worker.test${path}`, init), env, newCtx(), () => fixedNow);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text === "" ? null : JSON.parse(text) };
}
