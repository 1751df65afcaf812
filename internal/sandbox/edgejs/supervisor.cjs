// Edge supervisor of the Cloudflare sandbox: runs uploaded Worker versions in workerd through
// Miniflare, one Miniflare (one workerd process) per running version, all inside this one
// Node process so that Node's own memory is paid once.
//
// The Go sandbox starts it with node_modules on NODE_PATH and talks to it over stdin/stdout,
// one JSON object per line:
//   in:  {"op":"start","key":K,"options":{...Miniflare worker options, modules inline...},"persist":DIR}
//        {"op":"stop","key":K}
//   out: {"op":"hello"} once, then {"key":K,"ok":true,"url":"http://127.0.0.1:PORT"} or
//        {"key":K,"ok":false,"error":"..."} per start, {"key":K,"ok":true} per stop.
// Its stdin is the sandbox's lifeline: when it closes (the sandbox exited, even by kill -9),
// every workerd is disposed and this process exits, so no runtime outlives the sandbox.
"use strict";

const readline = require("node:readline");
const { Miniflare, Log, LogLevel } = require("miniflare");

const running = new Map(); // key -> Promise<Miniflare>

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

// A binding the sandbox cannot provide (Workers AI, Vectorize) is present but every call fails,
// as under `wrangler dev --local`: the Worker's own error handling decides the answer.
const unavailableModule = `
export default function (env) {
  const fail = () => Promise.reject(new Error(env.KIND + " is not available in the sandbox (as under wrangler dev --local)"));
  return new Proxy({}, { get: (_t, prop) => (prop === "then" ? undefined : fail) });
}`;

async function start(msg) {
  const o = msg.options;
  const worker = {
    name: o.name,
    modulesRoot: "/",
    modules: o.modules.map((m) => ({ type: m.type, path: m.path, contents: Buffer.from(m.contents, "base64") })),
    compatibilityDate: o.compatibilityDate,
    compatibilityFlags: o.compatibilityFlags,
    bindings: o.bindings,
    kvNamespaces: o.kvNamespaces,
    durableObjects: o.durableObjects,
    wrappedBindings: {},
  };
  const workers = [worker];
  const unavailable = Object.entries(o.unavailable || {});
  for (const [name, kind] of unavailable) {
    worker.wrappedBindings[name] = { scriptName: "sandbox-unavailable", bindings: { KIND: kind } };
  }
  if (unavailable.length > 0) {
    workers.push({ name: "sandbox-unavailable", modules: [{ type: "ESModule", path: "/unavailable.mjs", contents: unavailableModule }] });
  }
  // workerd's output goes to stderr (stdout carries the protocol); what it printed while
  // starting explains a failure (a module that throws at start-up), so it is kept for that.
  const startup = [];
  const capture = (stream) => {
    stream.on("data", (chunk) => {
      if (startup.length < 200) startup.push(chunk.toString());
      process.stderr.write(chunk);
    });
  };
  const mf = new Miniflare({
    handleRuntimeStdio: (stdout, stderr) => {
      capture(stdout);
      capture(stderr);
    },
    workers,
    host: "127.0.0.1",
    port: 0,
    // The request.cf placeholder instead of a download from workers.cloudflare.com.
    cf: false,
    upstream: o.upstream,
    // /cdn-cgi/handler/scheduled fires the cron handler; the Go edge keeps it off workers.dev.
    unsafeTriggerHandlers: true,
    kvPersist: msg.persist + "/kv",
    durableObjectsPersist: msg.persist + "/do",
    cachePersist: false,
    log: new Log(LogLevel.WARN),
  });
  try {
    await mf.ready;
  } catch (err) {
    await mf.dispose().catch(() => {});
    const out = startup.join("").trim();
    throw new Error(String((err && err.message) || err) + (out ? "\n" + out : ""));
  }
  startup.length = 0;
  return mf;
}

async function handle(msg) {
  switch (msg.op) {
    case "start": {
      const p = start(msg);
      running.set(msg.key, p);
      try {
        const mf = await p;
        const url = await mf.ready;
        send({ key: msg.key, ok: true, url: url.origin });
      } catch (err) {
        running.delete(msg.key);
        send({ key: msg.key, ok: false, error: String((err && err.message) || err) });
      }
      return;
    }
    case "stop": {
      const p = running.get(msg.key);
      running.delete(msg.key);
      if (p) {
        try {
          await (await p).dispose();
        } catch {
          // a runtime that never started has nothing to dispose
        }
      }
      send({ key: msg.key, ok: true });
      return;
    }
    default:
      send({ key: msg.key, ok: false, error: "unknown op " + msg.op });
  }
}

let exiting = false;
async function shutdown(code) {
  if (exiting) return;
  exiting = true;
  const all = [...running.values()];
  running.clear();
  await Promise.allSettled(all.map(async (p) => (await p).dispose()));
  process.exit(code);
}

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (line.trim() === "") return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (err) {
    send({ ok: false, error: "bad message: " + err.message });
    return;
  }
  handle(msg);
});
rl.on("close", () => shutdown(0));
process.on("SIGTERM", () => shutdown(0));
process.on("SIGINT", () => shutdown(0));
process.stdout.on("error", () => shutdown(0)); // the sandbox went away mid-write
send({ op: "hello" });
