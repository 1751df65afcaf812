//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/fleetstatus"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
)

// Fleet shows the whole fleet at a glance.
type Fleet mg.Namespace

// Status shows each tenant/env's live version, deployer, drift, health, last failure.
//
// Usage: fleet:status <env|all> [-json=true]; all is staging and production. It reads each
// tenant with drift's 7 API requests plus one health request, tenants concurrently. Exit 0
// all ok (or mid-rollout), 2 drifted, missing or unhealthy, or a damaged record was skipped
// (named on stderr and in skipped_records), 1 when a tenant could not be read.
func (Fleet) Status(ctx context.Context, env string,
	json *bool, // print [{tenant, env, state, versions, drift, health, deployed, last_failure, …}]
) error {
	ctx, stop := stoppable(ctx)
	defer stop()
	ws, log, err := setup()
	if err != nil {
		return err
	}
	sharedRecords(ctx, ws, log)
	rows, err := fleetstatus.Command(ctx, ws, log, env, os.Stderr)
	if err != nil {
		return err
	}
	if flag(json, false) {
		err = report.JSON(os.Stdout, rows)
	} else {
		fmt.Println()
		err = fleetstatus.WriteText(os.Stdout, ws.Root, rows, report.Colour(os.Stdout))
	}
	if err != nil {
		return err
	}
	return exit(fleetstatus.ExitCode(rows), "fleet:status "+env+": some tenants need attention", "fleet:status "+env+": some tenants could not be read")
}
