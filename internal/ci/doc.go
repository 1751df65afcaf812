// Package ci holds the steps `mage ci` runs (Lint, Typecheck, Test, Validate, Build) and the
// Tracker that announces each with its duration, stops the chain at the first failure and
// names it, and closes with a summary. The order is the magefile's: `mage ci` chains one
// target per step, each target running its step through the Tracker. DeploySteps are the
// checks a staging or production deploy's gate runs (package treecheck): what guards the
// deploy (the Worker, the tenants deployed), not the tool's own lint and tests. The package
// also holds the dry-run build of every tenant and environment, which `mage build` runs on
// its own.
//
// Steps shell out to the same tools a developer would run by hand (go vet, staticcheck,
// actionlint, tsc, go test) and stream their output, so a CI log reads like a terminal.
package ci
