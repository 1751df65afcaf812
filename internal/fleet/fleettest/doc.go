// Package fleettest builds a throwaway world for fleet tests and benchmarks: a temporary
// copy of the workspace (the repository's tenants, or N generated ones), an in-process
// sandbox serving their accounts on loopback, an HTTP client that sends workers.dev health
// checks to the sandbox's edge, and per-tenant tokens that a test can withhold.
//
// Nothing is written into the repository: records, locks, bundles and state stay in the
// temporary folder, and node_modules is linked, not copied (nor reinstalled).
package fleettest
