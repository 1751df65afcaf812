// Package sandboxctl tells every target whether to use the local Cloudflare API (the sandbox)
// and talks to a running one: its files under .state/sandbox, its status, its control API,
// stopping it.
//
// `mage sandbox:start` builds cmd/cf-sandbox once into .state/bin (Build) and runs it, which
// starts itself as a detached process (its own session, package sandboxhost), so it outlives
// the mage run; it writes .state/sandbox/runtime.json with its pid and URL once it listens.
// Each target's setup calls Decide, the one place that decides rehearsal or real: an explicit
// CLOUDFLARE_API_BASE_URL wins (one on the loopback that answers as a sandbox is a rehearsal
// against it, as if attached); otherwise a sandbox started from this checkout (or attached to
// with sandbox:attach) and still answering is used, with the tokens it issued and the
// rehearsal records folder; otherwise real Cloudflare. Setup hands the decision on (Hand) and
// every package's Resolve returns it. This package does not import the emulator (package
// sandbox): the mage binary links this one, and the emulator stays in cf-sandbox.
package sandboxctl
