// Package sandbox is a local stand-in for the part of the Cloudflare API that wrangler 4.63.0
// and our cloudflare-go reads use: accounts, Worker scripts, versions, deployments, secrets,
// triggers and workers.dev subdomains, served under /client/v4.
//
// It exists because no machine here reaches Cloudflare and operators want to rehearse fleet
// deploys, drift and rollback without touching production. It serves the calls, fields and
// quirks wrangler 4.63.0 depends on (its tests pin each one), not Cloudflare's full API.
//
// Besides the API, one Server offers:
//   - a control API under /__sandbox/ (no auth, meant for loopback) to read tokens, reset,
//     inject faults, latency and rate limits, mark versions unhealthy and make out-of-band
//     changes that drift detection must notice;
//   - the workers.dev edge: a request whose Host is <script>.<subdomain>.workers.dev (or a
//     version preview host <first 8 of id>-<script>.<subdomain>.workers.dev) reaches one
//     version of the Worker, picked by the current deployment's percentages or pinned by a
//     Cloudflare-Workers-Version-Overrides header. With EdgeWorkerd the version's uploaded
//     modules run in workerd (edge_workerd.go, edgejs/supervisor.cjs); with EdgeFake (the
//     zero value, for fleet-scale tests) the answer is the health document the Worker's
//     /health would give, made from the version's vars.
//
// Control API (plain JSON bodies, answered only to loopback clients):
//
//	GET    /__sandbox/status     Status: accounts, scripts, live versions, faults, limits (no tokens)
//	GET    /__sandbox/tokens     {"<account id>": "<token>"}: how rehearsals get each tenant's token
//	POST   /__sandbox/reset      empty every account, keep accounts and tokens
//	GET    /__sandbox/faults     the active faults
//	POST   /__sandbox/faults     add {"method","path","status","code","count","latency_ms","retry_after","message","body",
//	                             "reset","after_write"} or a named one, {"name": "incomplete-body"} (faults_named.go)
//	DELETE /__sandbox/faults     remove every fault and the global latency
//	POST   /__sandbox/latency    {"ms": N}: delay every API request
//	POST   /__sandbox/ratelimit  {"requests": N, "window_ms": M}: per token; requests 0 turns it off
//	POST   /__sandbox/unhealthy  {"version_id": "..."}: the edge answers 503 for that version
//	DELETE /__sandbox/unhealthy  every version healthy again
//	POST   /__sandbox/zones      {"name": "example.com"}: make a zone known, answers its id
//	POST   /__sandbox/mutate     Mutation: an out-of-band change (set_var, remove_binding, ...)
//	POST   /__sandbox/resources  ResourceMutation: delete (or add) a KV namespace, Vectorize
//	                             index or Durable Object namespace; set the token's kind/status
//	POST   /__sandbox/scheduled  {"host": "<script>.<subdomain>.workers.dev", "cron": "0 * * * *"}:
//	                             fire the scheduled handler of the version traffic picks (workerd edge)
//
// Account resources for preflight checks (resources.go): KV namespaces and Vectorize indexes
// are seeded from the tenants' wrangler.jsonc at start; Durable Object namespaces appear when
// a Worker version binds its own class. Tokens are account tokens: they verify at
// /accounts/{id}/tokens/verify, and /user/tokens/verify refuses them with code 1000.
//
// Where the live API departs from its own schema (a deployment POST answers only its id, one
// secret's GET answers null, startup_time_ms is sometimes absent), the sandbox answers as the
// live API does unless Options.SchemaAnswers is set (liveanswers.go). Options.Observe sees
// every request and answer, so tests can hold them to cloudflare-go's types (internal/cfcontract).
//
// Where the sandbox has to choose an error code Cloudflare's contract does not pin down, it
// uses 10026 for invalid requests, 10056 for a missing secret and 10079 for a migration tag
// mismatch; the codes wrangler tests for (10007, 10090, 10215, 10220, 971, 10000) are Cloudflare's.
//
// State lives in memory and, when Options.StatePath is set, in a JSON file written atomically
// after every change, so a sandbox started by one command and used by later ones is one world.
package sandbox
