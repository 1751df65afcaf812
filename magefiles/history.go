//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
)

// History lists and checks the deployment records in deployments/.
type History mg.Namespace

// List shows a tenant/env's deploy and rollback records, newest first.
//
// Each line: time, kind, status, version, actor and git sha (also as `mage history <tenant> <env>`).
func (History) List(ctx context.Context, tenantName, env string,
	json *bool, // print the records as JSON on stdout
	from *string, // deploy-records: read the records CI keeps on that branch (git fetch origin deploy-records first)
) error {
	name, e, err := request("history", tenantName, env)
	if err != nil {
		return err
	}
	ws, log, err := setup()
	if err != nil {
		return err
	}
	if flag(from, "") == "" {
		sharedRecords(ctx, ws, log)
	}
	dir, done, err := recordsDir(ctx, ws.Root, ws.DeploymentsDir(), flag(from, ""))
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer done()
	return history.Show(os.Stdout, dir, string(name), string(e), flag(json, false))
}

// Verify checks every record's format and hash chain and names each tampered one.
//
// Edited, deleted or reordered records are named by file name; committed records are also
// compared with the last commit.
func (History) Verify(ctx context.Context,
	from *string, // deploy-records: verify the records CI keeps on that branch instead
) error {
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
