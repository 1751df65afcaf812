//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/rollback"
)

// Rollback puts a tenant/env back on its previous good version, health-checked.
//
// It refuses to cross a Durable Object migration and, unless forced, changed secrets.
func Rollback(ctx context.Context, tenantName, env string,
	to *string, // the version id to put back (default: the last succeeded before the live one)
	force *bool, // go past secrets that changed since the target version
	reason *string, // why, kept in the rollback record
	json *bool, // print the outcome as JSON on stdout
) error {
	ctx, stop := mutating(ctx)
	defer stop()
	ws, log, err := setup()
	if err != nil {
		return err
	}
	o, err := rollback.Command(ctx, ws, log, tenantName, env, rollback.Options{
		To: flag(to, ""), Force: flag(force, false), Reason: flag(reason, ""), Banner: os.Stderr,
	})
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

// Redeploy deploys to production exactly the tree of a deploy tag (the runbook's option B).
//
// The tag is deploy/<tenant>/production/<stamp>; the redeploy is recorded in deployments/.
func Redeploy(ctx context.Context, tenantName, tag string) error {
	ctx, stop := mutating(ctx)
	defer stop()
	mg.CtxDeps(ctx, NodeModules)
	ws, log, err := setup()
	if err != nil {
		return err
	}
	start := time.Now()
	out, err := rollback.Redeploy(ctx, ws, log, tenantName, tag, os.Stderr)
	if out.Record.Tenant != "" {
		fmt.Println(deploy.Summary(out, time.Since(start)))
	}
	return err
}
