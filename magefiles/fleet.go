//go:build mage

package main

import (
	"context"
	"os"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/fleet"
)

// All deploys every tenant to staging or production, with live progress and a summary.
//
// Each tenant goes through the deploy:tenant pipeline. Sequential by default, stopping at the
// first failure (the rest are skipped). Exits 1 if any tenant failed.
func (Deploy) All(ctx context.Context, env string,
	parallel *int, // deploy N tenants at once
	continueOnError *bool, // keep going after a tenant fails
	only *string, // deploy only these tenants (comma-separated)
	canary *string, // deploy this tenant first and stop if it fails
	json *bool, // print the summary as JSON on stdout
) error {
	ctx, stop := mutating(ctx)
	defer stop()
	ws, log, err := setup()
	if err != nil {
		return err
	}
	_, err = fleet.DeployAll(ctx, fleet.DeployAllOptions{
		Env: env, Only: flag(only, ""), Canary: flag(canary, ""), Parallel: flag(parallel, 1),
		ContinueOnError: flag(continueOnError, false), JSON: flag(json, false), Workspace: ws,
		Prepare: func(ctx context.Context) (deploy.Options, error) { return deploy.Prepare(ctx, ws, log, os.Stderr) },
		Stdout:  os.Stdout, Stderr: os.Stderr,
	})
	return err
}
