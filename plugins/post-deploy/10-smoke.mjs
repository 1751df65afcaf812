#!/usr/bin/env node
// Smoke test of a freshly deployed Worker, beyond /health: GET /status names this tenant and
// env (and reads KV), and a counter round trip goes through the Durable Object. A non-zero
// exit rolls the deploy back. Contract: README "Plugin scripts".
//
// The sandbox's edge does not run the Worker yet: it answers /health's JSON for every path.
// Only when DEPLOY_SANDBOX=1 and /status answers that health document does this skip the
// routes (exit 0, saying so); anywhere else the same answer is a failure.
import http from "node:http";
import https from "node:https";

const env = process.env;
const base = new URL(env.DEPLOY_URL);
const connect = env.DEPLOY_CONNECT;

function request(method, path, body) {
  const u = new URL(path, base);
  let mod = u.protocol === "https:" ? https : http;
  const opts = {
    method,
    hostname: u.hostname,
    port: u.port || undefined,
    path: u.pathname + u.search,
    headers: { host: u.host, accept: "application/json" },
    timeout: 15000,
  };
  // A gradual rollout tests its new version at 0% of traffic: the header pins it.
  if (env.DEPLOY_VERSION_OVERRIDE) opts.headers["cloudflare-workers-version-overrides"] = env.DEPLOY_VERSION_OVERRIDE;
  if (connect) {
    // The sandbox: plain HTTP to its edge, the Worker's host in the Host header.
    const i = connect.lastIndexOf(":");
    mod = http;
    opts.hostname = connect.slice(0, i);
    opts.port = Number(connect.slice(i + 1));
  }
  const data = body === undefined ? undefined : JSON.stringify(body);
  if (data !== undefined) opts.headers["content-type"] = "application/json";
  return new Promise((resolve, reject) => {
    const req = mod.request(opts, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => {
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          // left null: the check below says what came back
        }
        resolve({ status: res.statusCode, json, text: text.slice(0, 300) });
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within 15 s`)));
    req.on("error", reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

function fail(msg) {
  console.error(`smoke ${env.DEPLOY_TENANT}/${env.DEPLOY_ENV}: FAILED: ${msg}`);
  process.exit(1);
}

const status = await request("GET", "/status");
const fakeEdge =
  env.DEPLOY_SANDBOX === "1" && status.json && "version_id" in status.json && !("features" in status.json);
if (fakeEdge) {
  console.log(
    "smoke: skipped: the sandbox edge answers /health's JSON for every path (it does not run the Worker's code), so /status and /counters cannot be exercised here",
  );
  process.exit(0);
}
if (status.status !== 200 || !status.json) fail(`GET /status answered ${status.status}: ${status.text}`);
if (status.json.tenant !== env.DEPLOY_TENANT || status.json.env !== env.DEPLOY_ENV) {
  fail(`GET /status names ${status.json.tenant}/${status.json.env}, not ${env.DEPLOY_TENANT}/${env.DEPLOY_ENV}`);
}
console.log(`smoke: GET /status ok (${status.json.tenant}/${status.json.env})`);

const name = `smoke-${Date.now().toString(36)}`;
const before = await request("GET", `/counters/${name}`);
if (before.status !== 200 || typeof before.json?.value !== "number") {
  fail(`GET /counters/${name} answered ${before.status}: ${before.text}`);
}
const inc = await request("POST", `/counters/${name}/increment`, { by: 2 });
if (inc.status !== 200 || inc.json?.value !== before.json.value + 2) {
  fail(`POST /counters/${name}/increment {"by":2} answered ${inc.status}: ${inc.text} (expected ${before.json.value + 2})`);
}
const after = await request("GET", `/counters/${name}`);
if (after.status !== 200 || after.json?.value !== before.json.value + 2) {
  fail(`GET /counters/${name} after the increment answered ${after.status}: ${after.text}`);
}
console.log(`smoke: counter ${name} round trip ok (${before.json.value} -> ${after.json.value})`);
