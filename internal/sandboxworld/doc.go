// Package sandboxworld builds a throwaway world for `mage bench` and the e2e tests: a temporary
// copy of the workspace (the repository's tenants, or N generated ones), an in-process
// sandbox serving their accounts on loopback, an HTTP client that sends workers.dev health
// checks to the sandbox's edge, and per-tenant tokens that a test can withhold.
//
// Nothing is written into the repository: records, locks, bundles and state stay in the
// temporary folder, and node_modules is linked, not copied (nor reinstalled). The copy is
// package workspacecopy's, the one testrepo.Copy also makes for a test.
//
// It is not a test helper: the mage binary carries it for `mage bench`, so it never panics
// and imports no test helper; package testworld wraps it for tests.
package sandboxworld
