//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/rollback"
)

// Rollback puts a tenant/env back on the previous good version (or -to=<version-id>) at 100%, verifies its health and records it; -force=true goes past changed secrets, -reason="..." is recorded, -json=true prints JSON.
func Rollback(ctx context.Context, tenantName, env string, to *string, force *bool, reason *string, json *bool) error {
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

// Redeploy deploys to production exactly the tree of a deploy tag (deploy/<tenant>/production/<stamp>), the rollback runbook's option B, and records it in deployments/.
func Redeploy(ctx context.Context, tenantName, tag string) error {
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
