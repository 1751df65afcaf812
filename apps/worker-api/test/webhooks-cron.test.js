import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import worker from "../.test-build/index.js";
import { newCtx, newEnv } from "./fakes.js";
import { send } from "./helpers.js";

const secret = "whsec-test-6f1d0c9a";
const payload = JSON.stringify({ event: "ping", id: 7 });
const sign = (body, key = secret) => `sha256=${createHmac("sha256", key).update(body).digest("hex")}`;

describe("POST /webhooks", () => {
  it("accepts a body signed with WEBHOOK_SIGNING_KEY and records it", async () => {
    const env = newEnv({ WEBHOOK_SIGNING_KEY: secret });
    const res = await send(env, "POST", "/webhooks", { body: payload, headers: { "x-signature-256": sign(payload) } });
    assert.equal(res.status, 202);
    assert.equal(res.json.accepted, true);
    assert.equal(JSON.parse(env.CACHE.data.get("webhook:last-received")).bytes, Buffer.byteLength(payload));
  });

  for (const [what, header] of [
    ["no signature", undefined],
    ["a signature made with another key", sign(payload, "other-key")],
    ["a malformed signature", "sha256=zz"],
  ]) {
    it(`refuses ${what} with 401 and never echoes the key`, async () => {
      const env = newEnv({ WEBHOOK_SIGNING_KEY: secret });
      const headers = header === undefined ? {} : { "x-signature-256": header };
      const res = await send(env, "POST", "/webhooks", { body: payload, headers });
      assert.equal(res.status, 401);
      assert.equal(res.json.error, "bad_signature");
      assert.ok(!res.text.includes(secret));
      assert.equal(env.CACHE.data.size, 0);
    });
  }

  it("answers 503 not_configured when the secret is not set", async () => {
    const res = await send(newEnv(), "POST", "/webhooks", { body: payload, headers: { "x-signature-256": sign(payload) } });
    assert.equal(res.status, 503);
    assert.equal(res.json.error, "not_configured");
  });
});

describe("scheduled()", () => {
  it("records the cron run in KV, and /status shows it", async () => {
    const env = newEnv();
    const ctx = newCtx();
    const scheduledTime = Date.parse("2026-11-28T13:00:00.000Z");
    await worker.scheduled({ cron: "0 * * * *", scheduledTime, noRetry() {} }, env, ctx);
    assert.equal(ctx.pending.length, 1, "the work was not handed to waitUntil");
    await Promise.all(ctx.pending);

    const status = await send(env, "GET", "/status");
    assert.equal(status.status, 200);
    assert.equal(status.json.last_cron.cron, "0 * * * *");
    assert.equal(status.json.last_cron.scheduled_time, "2026-11-28T13:00:00.000Z");
    assert.deepEqual(status.json.features, ["vector_search", "ai_chat"]);
  });

  it("lets a KV failure reject the waitUntil promise so the runtime reports it", async () => {
    const env = newEnv({ LOG_LEVEL: "error" });
    env.CACHE.failWith = new Error("kv down");
    const ctx = newCtx();
    const original = console.log;
    console.log = () => {};
    try {
      await worker.scheduled({ cron: "0 * * * *", scheduledTime: Date.now(), noRetry() {} }, env, ctx);
      await assert.rejects(Promise.all(ctx.pending), /kv down/);
    } finally {
      console.log = original;
    }
  });
});
