// Package sandboxworld builds a throwaway world for the benchmarks (`mage bench` runs them
// with go test) and the e2e tests: a temporary
// copy of the workspace (the repository's tenants, or N generated ones), an in-process
// sandbox serving their accounts on loopback, an HTTP client that sends workers.dev health
// checks to the sandbox's edge, and per-tenant tokens that a test can withhold.
//
// Nothing is written into the repository: records, locks, bundles and state stay in the
// temporary folder, and node_modules is linked, not copied (nor reinstalled). The copy is
// package workspacecopy's, the one testrepo.Copy also makes for a test.
//
// It is part of the test rig, which the mage binary does not link (the lint step checks). It
// returns errors rather than failing a test, so the benchmarks' harness and package testworld
// (which wraps it for tests) share it. Seed makes a world where drift is in sync, for the
// benchmarks and the tests of what reads the fleet.
package sandboxworld
