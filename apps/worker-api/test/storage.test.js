import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { newEnv } from "./fakes.js";
import { fixedNow, send } from "./helpers.js";

describe("notes (KV)", () => {
  it("creates, replaces, reads and deletes a note", async () => {
    const env = newEnv();
    const created = await send(env, "PUT", "/notes/welcome", { body: { text: "hello" } });
    assert.equal(created.status, 201);
    assert.deepEqual(created.json, { key: "welcome", text: "hello", updated_at: fixedNow.toISOString() });
    assert.ok(env.CACHE.data.has("note:welcome"), "the note was not written to KV under its prefix");

    const replaced = await send(env, "PUT", "/notes/welcome", { body: { text: "hello again" } });
    assert.equal(replaced.status, 200);
    assert.equal((await send(env, "GET", "/notes/welcome")).json.text, "hello again");

    assert.equal((await send(env, "DELETE", "/notes/welcome")).status, 204);
    const gone = await send(env, "GET", "/notes/welcome");
    assert.equal(gone.status, 404);
    assert.equal(gone.json.error, "note_not_found");
  });

  const refusals = [
    ["a key with capitals", "/notes/Bad", { text: "x" }, {}, 400, "invalid_name"],
    ["a key that is too long", `/notes/${"k".repeat(65)}`, { text: "x" }, {}, 400, "invalid_name"],
    ["an empty text", "/notes/k", { text: "" }, {}, 400, "invalid_text"],
    ["a text that is too long", "/notes/k", { text: "x".repeat(4097) }, {}, 400, "invalid_text"],
    ["a text that is not a string", "/notes/k", { text: 42 }, {}, 400, "invalid_text"],
    ["malformed JSON", "/notes/k", "{not json", { "content-type": "application/json" }, 400, "invalid_json"],
    ["a JSON array", "/notes/k", "[1,2]", { "content-type": "application/json" }, 400, "invalid_json"],
    ["a non-JSON content type", "/notes/k", "text", { "content-type": "text/plain" }, 415, "unsupported_media_type"],
    ["a body over the size cap", "/notes/k", { text: "x".repeat(20000) }, {}, 413, "payload_too_large"],
    ["a declared Content-Length over the cap", "/notes/k", { text: "x" }, { "content-type": "application/json", "content-length": "999999" }, 413, "payload_too_large"],
  ];
  for (const [what, path, body, headers, status, code] of refusals) {
    it(`refuses ${what} and stores nothing`, async () => {
      const env = newEnv();
      const res = await send(env, "PUT", path, { body, headers });
      assert.equal(res.status, status);
      assert.equal(res.json.error, code);
      assert.equal(env.CACHE.data.size, 0);
    });
  }
});

describe("counters (Durable Object)", () => {
  it("counts per name, starting at zero", async () => {
    const env = newEnv();
    assert.deepEqual((await send(env, "GET", "/counters/hits")).json, { name: "hits", value: 0 });
    assert.equal((await send(env, "POST", "/counters/hits/increment")).json.value, 1);
    assert.equal((await send(env, "POST", "/counters/hits/increment", { body: { by: 5 } })).json.value, 6);
    assert.equal((await send(env, "POST", "/counters/other/increment")).json.value, 1);
    assert.equal((await send(env, "GET", "/counters/hits")).json.value, 6);
  });

  it("refuses a body over 1 KiB with 413 before it reaches the object", async () => {
    const env = newEnv();
    const res = await send(env, "POST", "/counters/hits/increment", { body: { by: 1, pad: "x".repeat(1100) } });
    assert.equal(res.status, 413);
    assert.equal(res.json.error, "payload_too_large");
    assert.equal(env.COUNTER.objects.size, 0);
  });

  for (const by of [0, -1, 1001, 1.5, "3"]) {
    it(`refuses a step of ${JSON.stringify(by)} and leaves the count alone`, async () => {
      const env = newEnv();
      await send(env, "POST", "/counters/hits/increment");
      const res = await send(env, "POST", "/counters/hits/increment", { body: { by } });
      assert.equal(res.status, 400);
      assert.equal(res.json.error, "invalid_step");
      assert.match(res.json.request_id, /^[0-9a-f-]{36}$/);
      assert.equal((await send(env, "GET", "/counters/hits")).json.value, 1);
    });
  }
});
