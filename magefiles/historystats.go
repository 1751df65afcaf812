//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/rainbowsmoke/crispy-enigma/internal/metrics"
)

// Stats prints delivery metrics: deploy frequency, lead time, change failure rate, time to restore.
//
// Usage: history:stats <tenant|all> <env|all> [-since=30d] [-json=true]. Both positionals are
// required (mage has no optional positionals): `all all` is the whole fleet. Rows are per
// tenant/env, then one fleet row per env. Also success rate and deploy duration percentiles.
// -since takes 30d, 2w, 12h or a date; definitions are in the README ("Delivery metrics").
// -from=deploy-records reads the records CI keeps on that branch.
func (History) Stats(ctx context.Context, target, env string, since *string, json *bool, from *string) error {
	ws, _, err := setup()
	if err != nil {
		return err
	}
	dir, done, err := recordsDir(ctx, ws.Root, ws.DeploymentsDir(), flag(from, ""))
	if err != nil {
		return fmt.Errorf("history:stats: %w", err)
	}
	defer done()
	_, err = metrics.Run(ctx, os.Stdout, metrics.Request{
		Target: target, Env: env, Since: flag(since, "30d"), Dir: dir, Root: ws.Root, JSON: flag(json, false),
	})
	return err
}
