// Package workspacecopy makes a throwaway copy of a checkout: the tenants, the Worker, the
// schemas and the package and module files (with the Go sources when asked), node_modules
// linked rather than reinstalled, and optionally one git commit. Tests (through testrepo)
// and the benchmarks (through sandboxworld) run in such copies so that nothing is ever written
// into the repository.
//
// It imports nothing that imports the sandbox, so the sandbox's own tests can use it.
package workspacecopy
