//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/rainbowsmoke/crispy-enigma/internal/metrics"
)

// Stats prints delivery metrics: frequency, lead time, failure rate, time to restore.
//
// Usage: history:stats <tenant|all> <env|all> [-since=30d] [-json=true]. Both positionals are
// required (mage has no optional positionals): `all all` is the whole fleet. Rows are per
// tenant/env, then one fleet row per env. Also success rate and deploy duration percentiles.
// Definitions are in the README ("Delivery metrics"). A damaged record is left out, named on
// stderr, under the table and in the JSON's skipped_records; the exit stays 0.
func (History) Stats(ctx context.Context, target, env string,
	since *string, // the window: 30d, 2w, 12h or a date (default 30d)
	json *bool, // print the rows as JSON on stdout
	from *string, // deploy-records: read the records CI keeps on that branch
) error {
	name, e, err := requestRecords("history:stats", target, env)
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
		return fmt.Errorf("history:stats: %w", err)
	}
	defer done()
	_, err = metrics.Run(ctx, os.Stdout, metrics.Request{
		Tenant: name, Env: e, Since: flag(since, "30d"), Dir: dir, Root: ws.Root, JSON: flag(json, false), Stderr: os.Stderr,
	})
	return err
}
