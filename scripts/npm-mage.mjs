#!/usr/bin/env node
// Thin npm aliases of the Mage targets, for people with npm habits (package.json "scripts"):
//
//   npm run validate   -- [--tenant=<name|all>] [--json]
//   npm run deploy     -- --tenant=<name> --env=<env> [--dry-run] [--force] [--emergency] [--json]
//   npm run deploy:all -- --env=<env> [--parallel[=N]] [--continue-on-error] [--only=a,b] [--canary=<name>] [--emergency] [--json]
//   npm run drift      -- [--tenant=<name|all>] --env=<env> [--json]
//
// Each runs `go tool mage <target> ...` in the repository and exits with its exit code. A
// flag it does not know, or a missing or bad value, is refused with the usage line (exit 2)
// before anything runs.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const envs = ["dev", "staging", "production", "prod"];

// Each command: its usage line, its flags (kind: "value", "bool", or "count" for an optional
// number), and how the parsed flags become mage arguments.
const commands = {
  validate: {
    usage: "npm run validate -- [--tenant=<name|all>] [--json]",
    flags: { tenant: "value", json: "bool" },
    mage: (f) => ["validate", f.tenant ?? "all", ...bools(f, { json: "json" })],
  },
  deploy: {
    usage: "npm run deploy -- --tenant=<name> --env=<dev|staging|production> [--dry-run] [--force] [--emergency] [--json]",
    flags: { tenant: "value", env: "value", "dry-run": "bool", force: "bool", emergency: "bool", json: "bool" },
    required: ["tenant", "env"],
    mage: (f) => ["deploy:tenant", f.tenant, f.env, ...bools(f, { "dry-run": "dryRun", force: "force", emergency: "emergency", json: "json" })],
  },
  "deploy:all": {
    usage:
      "npm run deploy:all -- --env=<staging|production> [--parallel[=N]] [--continue-on-error] [--only=a,b] [--canary=<name>] [--emergency] [--json]",
    flags: { env: "value", parallel: "count", "continue-on-error": "bool", only: "value", canary: "value", emergency: "bool", json: "bool" },
    required: ["env"],
    envs: ["staging", "production", "prod"],
    mage: (f) => [
      "deploy:all",
      f.env,
      ...(f.parallel !== undefined ? [`-parallel=${f.parallel}`] : []),
      ...(f.only !== undefined ? [`-only=${f.only}`] : []),
      ...(f.canary !== undefined ? [`-canary=${f.canary}`] : []),
      ...bools(f, { "continue-on-error": "continueOnError", emergency: "emergency", json: "json" }),
    ],
  },
  drift: {
    usage: "npm run drift -- [--tenant=<name|all>] --env=<staging|production> [--json]",
    flags: { tenant: "value", env: "value", json: "bool" },
    required: ["env"],
    envs: ["staging", "production", "prod"],
    mage: (f) => ["drift", f.tenant ?? "all", f.env, ...bools(f, { json: "json" })],
  },
};

// A bare --parallel deploys this many tenants at once.
const defaultParallel = 4;

function bools(f, names) {
  return Object.entries(names)
    .filter(([k]) => f[k] === true)
    .map(([, m]) => `-${m}=true`);
}

function refuse(cmd, why) {
  console.error(`${why}\nusage: ${cmd ? cmd.usage : Object.values(commands).map((c) => c.usage).join("\n       ")}`);
  process.exit(2);
}

function parse(cmd, args) {
  const f = {};
  for (const a of args) {
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/.exec(a);
    if (!m) refuse(cmd, `unexpected argument ${JSON.stringify(a)}`);
    const [, name, value] = m;
    const kind = cmd.flags[name];
    if (!kind) refuse(cmd, `unknown flag --${name}`);
    if (name in f) refuse(cmd, `--${name} given twice`);
    if (kind === "bool") {
      if (value !== undefined && value !== "true" && value !== "false") refuse(cmd, `--${name} takes no value (or =true/=false)`);
      f[name] = value !== "false";
    } else if (kind === "count") {
      if (value === undefined) f[name] = defaultParallel;
      else if (/^[1-9][0-9]*$/.test(value)) f[name] = Number(value);
      else refuse(cmd, `--${name}=${value}: use a positive whole number`);
    } else {
      if (value === undefined || value === "") refuse(cmd, `--${name} needs a value: --${name}=...`);
      f[name] = value;
    }
  }
  for (const r of cmd.required ?? []) {
    if (f[r] === undefined) refuse(cmd, `--${r} is required`);
  }
  if (f.env !== undefined && !(cmd.envs ?? envs).includes(f.env)) {
    refuse(cmd, `--env=${f.env}: use one of ${(cmd.envs ?? envs).join(", ")}`);
  }
  return f;
}

const [name, ...args] = process.argv.slice(2);
const cmd = commands[name];
if (!cmd) refuse(undefined, `unknown command ${JSON.stringify(name ?? "")}`);
const mageArgs = cmd.mage(parse(cmd, args));

const child = spawn("go", ["tool", "mage", ...mageArgs], { cwd: root, stdio: "inherit" });
// A terminal's Ctrl-C reaches the whole process group already; a signal sent to this process
// alone is passed on, so that the deploy stops cleanly (lock released, record written).
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => child.kill(sig));
}
child.on("error", (err) => {
  console.error(`could not run go tool mage: ${err.message} (install Go 1.26)`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  process.exit(code ?? 128 + ({ SIGINT: 2, SIGTERM: 15, SIGKILL: 9 }[signal] ?? 1));
});
