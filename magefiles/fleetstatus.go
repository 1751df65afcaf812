//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/fleetstatus"
)

// Fleet shows the whole fleet at a glance.
type Fleet mg.Namespace

// Status shows per tenant/env the live version(s), who deployed them and when, drift, health, last failure.
//
// Usage: fleet:status <env|all> [-json=true]; all is staging and production. It reads each
// tenant with drift's 7 API requests plus one health request, tenants concurrently. Exit 0
// all ok (or mid-rollout), 2 drifted, missing or unhealthy, 1 when a tenant could not be read.
// -json=true prints [{tenant, env, state, versions, drift, health, deployed, last_failure, …}].
func (Fleet) Status(ctx context.Context, env string, json *bool) error {
	// Mage cancels ctx on Ctrl-C only; CI runners stop jobs with SIGTERM.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	ws, log, err := setup()
	if err != nil {
		return err
	}
	code, err := fleetstatus.Command(ctx, ws, log, env, flag(json, false), os.Stdout, os.Stderr)
	switch {
	case err != nil:
		return err
	case code == fleetstatus.ExitAttention:
		return mg.Fatal(code, fmt.Sprintf("fleet:status %s: some tenants need attention (exit 2)", env))
	case code != fleetstatus.ExitOK:
		return mg.Fatal(code, fmt.Sprintf("fleet:status %s: some tenants could not be read (exit 1)", env))
	}
	return nil
}
