// Package sandboxctl runs the local Cloudflare API (package sandbox) for operators and tells
// every other target whether to use it.
//
// `mage sandbox:start` builds cmd/cf-sandbox once into .state/bin and starts it as a detached
// process (its own session), so it outlives the mage run; it writes .state/sandbox/runtime.json
// with its pid and URL once it listens. Each target's setup calls Decide, the one place that
// decides rehearsal or real: an explicit CLOUDFLARE_API_BASE_URL wins; otherwise a sandbox
// started from this checkout (or attached to with sandbox:attach) and still answering is used,
// with the tokens it issued and the rehearsal records folder; otherwise real Cloudflare. Setup
// hands the decision on (Hand) and every package's Resolve returns it.
package sandboxctl
