import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";
import { newEnv } from "./fakes.js";
import { send } from "./helpers.js";

const vector = [0.25, -0.5, 0.75];

describe("POST /search (Vectorize)", () => {
  it("passes the vector and top_k to the index and returns its matches", async () => {
    const calls = [];
    const env = newEnv({
      VECTORIZE: {
        query: async (v, options) => {
          calls.push({ v, options });
          return { count: 1, matches: [{ id: "doc-7", score: 0.91, metadata: { title: "Intro" } }] };
        },
      },
    });
    const res = await send(env, "POST", "/search", { body: { vector, top_k: 3 } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { count: 1, matches: [{ id: "doc-7", score: 0.91, metadata: { title: "Intro" } }] });
    assert.deepEqual(calls[0].v, vector);
    assert.equal(calls[0].options.topK, 3);
  });

  it("answers 503 binding_unavailable when Vectorize only exists remotely (wrangler dev --local)", async () => {
    const res = await send(newEnv(), "POST", "/search", { body: { vector } });
    assert.equal(res.status, 503);
    assert.equal(res.json.error, "binding_unavailable");
    assert.equal(res.json.binding, "VECTORIZE");
    assert.ok(res.headers.get("retry-after"));
  });

  it("answers 503 when the binding is not configured at all", async () => {
    const res = await send(newEnv({ VECTORIZE: undefined }), "POST", "/search", { body: { vector } });
    assert.equal(res.status, 503);
    assert.equal(res.json.binding, "VECTORIZE");
  });

  it("answers 403 when the tenant's vector_search flag is not exactly \"true\"", async () => {
    for (const flag of [undefined, "false", "TRUE", "1"]) {
      const res = await send(newEnv({ FEATURE_VECTOR_SEARCH: flag }), "POST", "/search", { body: { vector } });
      assert.equal(res.status, 403, `flag ${flag}`);
      assert.equal(res.json.error, "feature_disabled");
    }
  });

  for (const [what, body, code] of [
    ["an empty vector", { vector: [] }, "invalid_vector"],
    ["a vector with a string", { vector: [1, "2"] }, "invalid_vector"],
    ["a vector that is too long", { vector: new Array(1537).fill(0) }, "invalid_vector"],
    ["top_k 0", { vector, top_k: 0 }, "invalid_top_k"],
    ["top_k 21", { vector, top_k: 21 }, "invalid_top_k"],
  ]) {
    it(`refuses ${what} before calling the index`, async () => {
      let called = false;
      const env = newEnv({ VECTORIZE: { query: async () => ((called = true), { count: 0, matches: [] }) } });
      const res = await send(env, "POST", "/search", { body });
      assert.equal(res.status, 400);
      assert.equal(res.json.error, code);
      assert.equal(called, false);
    });
  }
});

describe("POST /chat (Workers AI)", () => {
  it("returns the model's answer", async () => {
    const env = newEnv({ AI: { run: async (model, input) => ({ response: `echo(${model}): ${input.prompt}` }) } });
    const res = await send(env, "POST", "/chat", { body: { prompt: "hi" } });
    assert.equal(res.status, 200);
    assert.equal(res.json.response, `echo(${res.json.model}): hi`);
  });

  it("answers 503 binding_unavailable in local dev", async () => {
    const res = await send(newEnv(), "POST", "/chat", { body: { prompt: "hi" } });
    assert.equal(res.status, 503);
    assert.equal(res.json.binding, "AI");
  });

  it("answers 502 for an upstream failure without repeating its message", async () => {
    const env = newEnv({ AI: { run: async () => { throw new Error("gateway said: Bearer sk-live-123"); } } });
    const spy = mock.method(console, "log", () => {});
    let res;
    try {
      res = await send(env, "POST", "/chat", { body: { prompt: "hi" } });
    } finally {
      spy.mock.restore();
    }
    assert.equal(res.status, 502);
    assert.equal(res.json.error, "upstream_error");
    assert.ok(!res.text.includes("sk-live-123"));
  });

  it("refuses an empty prompt and respects the ai_chat flag", async () => {
    assert.equal((await send(newEnv(), "POST", "/chat", { body: { prompt: "  " } })).json.error, "invalid_prompt");
    assert.equal((await send(newEnv({ FEATURE_AI_CHAT: "false" }), "POST", "/chat", { body: { prompt: "hi" } })).status, 403);
  });
});
