//go:build mage

package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/plugins"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/rollback"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Rollback puts a tenant/env back on its previous good version, health-checked.
//
// It refuses to cross a Durable Object migration and, unless forced, changed secrets.
func Rollback(ctx context.Context, tenantName, env string,
	to *string, // the version id to put back (default: the last succeeded before the live one)
	force *bool, // go past secrets that changed since the target version
	reason *string, // why, kept in the rollback record
	json *bool, // print the outcome as JSON on stdout
	wait *string, // wait up to this long for another machine's lease on the tenant/env (e.g. 15m)
	localLockOnly *bool, // go ahead on this machine's lock alone when the lease remote cannot be reached (recorded)
) error {
	ctx, stop := stoppable(ctx)
	defer stop()
	if err := leaseFlags(wait, localLockOnly); err != nil {
		return err
	}
	name, e, err := request("rollback", tenantName, env)
	if err != nil {
		return err
	}
	ws, log, err := setup()
	if err != nil {
		return err
	}
	o, err := rollback.Command(ctx, ws, log, name, e, rollback.Options{
		To: flag(to, ""), Force: flag(force, false), Reason: flag(reason, ""), Banner: os.Stderr,
	})
	if o.RecordFile != "" {
		afterRollback(ctx, ws, log, tenantName, o)
	}
	if flag(json, false) {
		if o.Status != "" {
			if jerr := report.JSON(os.Stdout, o); jerr != nil && err == nil {
				err = jerr
			}
		}
	} else {
		o.Text(os.Stdout)
	}
	return err
}

// Redeploy deploys to production exactly the tree of a deploy tag (runbook option B).
//
// The tag is deploy/<tenant>/production/<stamp>; the redeploy is recorded in deployments/.
func Redeploy(ctx context.Context, tenantName, tag string) error {
	ctx, stop := stoppable(ctx)
	defer stop()
	name, err := tenant.ParseName(tenantName)
	if err != nil {
		return fmt.Errorf("redeploy: %w", err)
	}
	mg.CtxDeps(ctx, NodeModules)
	ws, log, err := setup()
	if err != nil {
		return err
	}
	out, err := rollback.Redeploy(ctx, ws, log, name, tag, os.Stderr)
	if werr := deploy.WriteOutcome(os.Stdout, ws.Root, "redeploy", &out, false); werr != nil && err == nil {
		err = werr
	}
	return err
}

// afterRollback runs the post-rollback plugins (when it succeeded) and the notify plugins.
// A failing plugin is a warning: the rollback itself is done and recorded.
func afterRollback(ctx context.Context, ws workspace.Workspace, log *slog.Logger, tenantName string, o rollback.Outcome) {
	f := plugins.Facts{Tenant: tenantName, Env: o.Env, WorkerName: o.Worker, VersionID: o.ToVersionID,
		PreviousVersionID: o.FromVersionID, RecordPath: o.RecordFile, Status: o.Status}
	if o.Health != nil {
		f.HealthURL = o.Health.URL
		if u, err := url.Parse(o.Health.URL); err == nil {
			f.URL = u.Scheme + "://" + u.Host
		}
	}
	logPath, err := plugins.For(ctx, ws, log).AfterRollback(ctx, f, o.Status == rollback.StatusSucceeded)
	if err != nil {
		log.Warn("a plugin failed after the rollback", "tenant", tenantName, "env", o.Env, "err", err, "log", logPath)
	}
}
