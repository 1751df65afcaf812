// Package sandboxctl runs the local Cloudflare API (package sandbox) for operators and tells
// every other target whether to use it.
//
// `mage sandbox:start` builds cmd/cf-sandbox once into .state/bin and starts it as a detached
// process (its own session), so it outlives the mage run; it writes .state/sandbox/runtime.json
// with its pid and URL once it listens. Later targets call Resolve: an explicit
// CLOUDFLARE_API_BASE_URL wins; otherwise a sandbox started from this checkout and still
// answering is used, with the tokens it issued; otherwise real Cloudflare.
package sandboxctl
