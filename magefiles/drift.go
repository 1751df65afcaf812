//go:build mage

package main

import (
	"context"
	"os"

	"github.com/rainbowsmoke/crispy-enigma/internal/drift"
)

// Drift compares what runs live with what this repository would deploy (2: drift).
//
// Exit 0 in sync, 2 drifted or missing, 1 on errors.
// It compares the code (sha256 of the main module), vars, required secret names, bindings,
// compatibility date and flags, crons, routes and custom domains, and flags a live version
// that our last succeeded record did not deploy.
func Drift(ctx context.Context, target, env string,
	json *bool, // print [{tenant, env, status, changes}] on stdout and nothing else
) error {
	target, e, err := requestAll("drift", target, env)
	if err != nil {
		return err
	}
	ws, log, err := setup()
	if err != nil {
		return err
	}
	reports, err := drift.Command(ctx, ws, log, target, e, os.Stderr)
	if err != nil {
		return err
	}
	if err := drift.Write(os.Stdout, os.Stderr, reports, flag(json, false)); err != nil {
		return err
	}
	what := "drift " + target + " " + string(e)
	return exit(drift.ExitCode(reports), what+": drift found", what+": some tenants could not be checked")
}
