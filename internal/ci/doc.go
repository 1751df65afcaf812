// Package ci is what `mage ci` runs: an ordered list of named steps (lint, typecheck, test,
// validate, build), each announced with its duration, stopping at the first failure and
// naming it. It also holds the dry-run build of every tenant and environment, which
// `mage build` runs on its own, and the deploy checks (DeploySteps) a deploy's gate runs:
// what guards the deploy (the Worker, the tenants deployed), not the tool's own lint and tests.
//
// Steps shell out to the same tools a developer would run by hand (go vet, staticcheck,
// actionlint, tsc, go test) and stream their output, so a CI log reads like a terminal.
package ci
