//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/drift"
)

// Drift compares what Cloudflare runs for a tenant (or all) in env with what this repository would deploy: exit 0 in sync, 2 drifted or missing, 1 on errors.
//
// It compares the code (sha256 of the main module), vars, required secret names, bindings,
// compatibility date and flags, crons, routes and custom domains, and flags a live version
// that our last succeeded record did not deploy. -json=true prints
// [{tenant, env, status, changes: {added, removed, changed}}] on stdout and nothing else.
func Drift(ctx context.Context, target, env string, json *bool) error {
	ws, log, err := setup()
	if err != nil {
		return err
	}
	code, err := drift.Command(ctx, ws, log, target, env, flag(json, false), os.Stdout, os.Stderr)
	switch {
	case err != nil:
		return err
	case code == drift.ExitDrift:
		// Returned unwrapped: mage exits 2 only when mg.Fatal is the outermost error.
		return mg.Fatal(drift.ExitDrift, fmt.Sprintf("drift %s %s: drift found (exit 2)", target, env))
	case code != drift.ExitInSync:
		return mg.Fatal(drift.ExitError, fmt.Sprintf("drift %s %s: some tenants could not be checked (exit 1)", target, env))
	}
	return nil
}
