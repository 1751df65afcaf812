import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";
import worker, { Counter } from "../.test-build/index.js";
import { newEnv } from "./fakes.js";
import { fixedNow, send } from "./helpers.js";

describe("GET /health", () => {
  it("reports tenant, env and the running version", async () => {
    const env = newEnv();
    const res = await send(env, "GET", "/health");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /^application\/json/);
    assert.deepEqual(res.json, {
      status: "ok",
      tenant: env.TENANT_ID,
      env: env.ENVIRONMENT,
      version_id: env.CF_VERSION_METADATA.id,
      version_tag: env.CF_VERSION_METADATA.tag,
      version_timestamp: env.CF_VERSION_METADATA.timestamp,
      timestamp: fixedNow.toISOString(),
    });
  });

  it("is degraded (503) and says why when the version metadata binding is missing", async () => {
    const res = await send(newEnv({ CF_VERSION_METADATA: undefined, ENVIRONMENT: "" }), "GET", "/health");
    assert.equal(res.status, 503);
    assert.equal(res.json.status, "degraded");
    assert.equal(res.json.version_id, null);
    assert.deepEqual(res.json.problems, ["var ENVIRONMENT is not set", "binding CF_VERSION_METADATA is missing"]);
  });

  it("answers HEAD like GET, and POST with 405 and an Allow header", async () => {
    assert.equal((await send(newEnv(), "HEAD", "/health")).status, 200);
    const post = await send(newEnv(), "POST", "/health");
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    assert.equal(post.json.error, "method_not_allowed");
  });
});

describe("routing and errors", () => {
  it("answers an unknown path with a JSON 404 that carries a request id", async () => {
    const res = await send(newEnv(), "GET", "/nope/at/all");
    assert.equal(res.status, 404);
    assert.equal(res.json.error, "not_found");
    assert.match(res.json.request_id, /^[0-9a-f-]{36}$/);
  });

  it("uses the cf-ray header as the request id when there is one", async () => {
    const res = await send(newEnv(), "GET", "/nope", { headers: { "cf-ray": "8f1e2d3c4b5a6978-LHR" } });
    assert.equal(res.json.request_id, "8f1e2d3c4b5a6978-LHR");
  });

  it("does not match a path parameter with broken percent-encoding", async () => {
    const res = await send(newEnv(), "GET", "/notes/%E0%A4%A");
    assert.equal(res.status, 404);
  });

  it("hides the message of an unexpected error from the client but logs it", async () => {
    const env = newEnv({ LOG_LEVEL: "debug" });
    env.CACHE.failWith = new Error("kv exploded near token=abc123secret");
    const logged = [];
    const spy = mock.method(console, "log", (line) => logged.push(line));
    let res;
    try {
      res = await send(env, "GET", "/status");
    } finally {
      spy.mock.restore();
    }
    assert.equal(res.status, 500);
    assert.equal(res.json.error, "internal_error");
    assert.ok(!res.text.includes("abc123secret"), "the error detail leaked into the response");
    const entry = logged.map((l) => JSON.parse(l)).find((e) => e.msg === "unhandled error");
    assert.ok(entry, "the error was not logged");
    assert.equal(entry.request_id, res.json.request_id);
    assert.match(entry.error, /kv exploded/);
  });
});

describe("entry module", () => {
  it("exports the Counter Durable Object class and fetch/scheduled handlers", () => {
    assert.equal(typeof Counter, "function");
    assert.equal(typeof worker.fetch, "function");
    assert.equal(typeof worker.scheduled, "function");
  });
});
