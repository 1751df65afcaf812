//go:build mage

package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/fleet"
)

// All deploys every tenant in tenants/ to env (staging or production) through the deploy:tenant pipeline and prints a summary table.
//
// Sequential by default, stopping at the first failure (the rest are skipped).
// -parallel=N deploys N tenants at once; -continueOnError=true keeps going after a failure;
// -only=a,b picks tenants; -canary=<tenant> deploys that one first and stops if it fails;
// -json=true prints the summary as JSON on stdout. Exits 1 if any tenant failed.
func (Deploy) All(ctx context.Context, env string, parallel *int, continueOnError *bool, only *string, canary *string, json *bool) error {
	// Mage cancels ctx on Ctrl-C only; CI runners stop jobs with SIGTERM.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
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
