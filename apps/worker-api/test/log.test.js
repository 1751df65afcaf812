import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { newLogger, parseLevel } from "../.test-build/log.js";

describe("logger", () => {
  it("drops lines below LOG_LEVEL and writes JSON with the base fields", () => {
    const lines = [];
    const log = newLogger("warn", { tenant: "t1" }, (l) => lines.push(l));
    log.info("quiet");
    log.warn("loud", { n: 1 });
    assert.deepEqual(lines.map((l) => JSON.parse(l)), [{ level: "warn", msg: "loud", tenant: "t1", n: 1 }]);
  });

  it("falls back to info for an unknown level", () => {
    assert.equal(parseLevel("verbose"), "info");
    assert.equal(parseLevel(undefined), "info");
    assert.equal(parseLevel("DEBUG"), "debug");
  });
});
