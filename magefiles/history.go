//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// History lists and checks the deployment records in deployments/.
type History mg.Namespace

// List shows the deploy and rollback records of a tenant/env, newest first: time, kind, status, version, actor and git sha (also as `mage history <tenant> <env>`; -json=true for machines).
//
// -from=deploy-records reads the records CI keeps on that branch (fetch it first:
// git fetch origin deploy-records) instead of deployments/.
func (History) List(ctx context.Context, tenantName, env string, json *bool, from *string) error {
	ws, _, err := setup()
	if err != nil {
		return err
	}
	dir, done, err := recordsDir(ctx, ws.Root, ws.DeploymentsDir(), flag(from, ""))
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer done()
	if err := tenant.ValidName(tenantName); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	e, err := tenant.ParseEnv(env)
	if err != nil {
		return fmt.Errorf("history %s: %w", tenantName, err)
	}
	return history.Show(os.Stdout, dir, tenantName, string(e), flag(json, false))
}

// Verify checks every record in deployments/ against the record format and the hash chain, and names each edited, deleted or reordered record by file name (exit 1).
//
// -from=deploy-records verifies the records CI keeps on that branch instead.
func (History) Verify(ctx context.Context, from *string) error {
	ws, _, err := setup()
	if err != nil {
		return err
	}
	dir, done, err := recordsDir(ctx, ws.Root, ws.DeploymentsDir(), flag(from, ""))
	if err != nil {
		return fmt.Errorf("history:verify: %w", err)
	}
	defer done()
	return history.CheckAll(ctx, os.Stdout, ws.Root, dir)
}

// Aliases makes `mage history <tenant> <env>` the listing, next to `mage history:verify`
// (Go cannot have a function and a namespace type both named History).
var Aliases = map[string]interface{}{
	"history": History.List,
}
