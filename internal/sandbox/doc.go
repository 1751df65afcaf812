// Package sandbox is a local stand-in for the part of the Cloudflare API that wrangler 4.63.0
// and our cloudflare-go reads use: accounts, Worker scripts, versions, deployments, secrets,
// triggers and workers.dev subdomains, served under /client/v4.
//
// It exists because no machine here reaches Cloudflare and operators want to rehearse fleet
// deploys, drift and rollback without touching production. The contract it honours (every
// call, field and quirk wrangler depends on) is written down in the project's
// cloudflare-contract.md; the handlers follow it rather than Cloudflare's full API.
//
// Besides the API, one Server offers:
//   - a control API under /__sandbox/ (no auth, meant for loopback) to read tokens, reset,
//     inject faults, latency and rate limits, mark versions unhealthy and make out-of-band
//     changes that drift detection must notice;
//   - the workers.dev edge: a request whose Host is <script>.<subdomain>.workers.dev is answered
//     the way the deployed Worker's /health would answer it, naming the version that served it.
//
// State lives in memory and, when Options.StatePath is set, in a JSON file written atomically
// after every change, so a sandbox started by one command and used by later ones is one world.
package sandbox
