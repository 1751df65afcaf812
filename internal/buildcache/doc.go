// Package buildcache keeps the dry-run bundle of each tenant/env in .build/<tenant>/<env>
// together with a hash of the inputs it was built from, so that deploy and drift reuse it
// instead of paying a wrangler run (a node start and an esbuild run, a second or two) for a
// bundle they already have.
//
// A build is a pure function of its inputs: the Worker's sources, the tenant's files, the
// pinned npm packages (package-lock.json), the wrangler version and the env. InputsHash hashes
// them; Stamp writes the hash beside a fresh bundle; Lookup hands the bundle back only when the
// hash matches and the main module still has the sha256 it was built with.
package buildcache
