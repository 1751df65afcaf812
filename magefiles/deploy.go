//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/devserver"
	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// Deploy puts tenants' Workers live.
type Deploy mg.Namespace

// Tenant deploys one tenant to one env (dev, staging, production/prod): validate, build, skip if unchanged, lock, deploy, health-check, roll back on failure, record.
//
// dev runs the Worker locally under wrangler dev on the tenant's dev port instead.
// -dryRun=true prints the plan and stops; -force=true deploys even when unchanged;
// -json=true prints the outcome as JSON on stdout. Exits 1 unless deployed or unchanged.
func (Deploy) Tenant(ctx context.Context, tenantName, env string, dryRun, force, jsonOut *bool) error {
	// Mage cancels ctx on Ctrl-C only; CI runners stop jobs with SIGTERM.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	if err := tenant.ValidName(tenantName); err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	e, err := tenant.ParseEnv(env)
	if err != nil {
		return fmt.Errorf("deploy %s: %w", tenantName, err)
	}
	ws, log, err := setup()
	if err != nil {
		return err
	}
	if e != tenant.Dev {
		return deploy.Command(ctx, ws, log, tenantName, string(e), deploy.Flags{
			DryRun: flag(dryRun, false), Force: flag(force, false), JSON: flag(jsonOut, false),
		}, os.Stdout, os.Stderr)
	}
	if err := npmdeps.Ensure(ctx, log, ws.Root); err != nil {
		return err
	}
	srv, _, err := devserver.Start(ctx, devserver.Options{Workspace: ws, Tenant: tenantName, Log: log, Progress: os.Stderr})
	if err != nil {
		return err
	}
	if flag(jsonOut, false) {
		return report.JSON(os.Stdout, srv)
	}
	fmt.Printf("%s/dev: running at %s (health %s/health, pid %d, log %s); stop with `go tool mage dev:stop %s`\n",
		tenantName, srv.URL, srv.URL, srv.PID, srv.LogPath, tenantName)
	return nil
}
