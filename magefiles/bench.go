//go:build mage

package main

import (
	"context"
	"os"

	"github.com/rainbowsmoke/crispy-enigma/internal/bench"
	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
)

// Bench measures deploy:all (20 generated tenants, 150 ms API latency, -parallel=4 vs sequential) and drift all (100 tenants, 100 ms, concurrent vs sequential) against an in-process sandbox and prints `name: value` lines.
//
// Ratios are measured side by side in one run, with the raw medians beside them. It takes
// minutes (the deploy figure runs wrangler 60 times) and is not part of `mage ci`.
// It also measures preflight all (100 tenants, 100 ms, concurrent vs sequential) and its API
// requests per tenant. -only=deploy, -only=drift or -only=preflight runs one of them;
// -rounds=N repeats each variant N times.
func Bench(ctx context.Context, only *string, rounds *int) error {
	ws, log, err := setup()
	if err != nil {
		return err
	}
	if err := npmdeps.Ensure(ctx, log, ws.Root); err != nil {
		return err
	}
	n := flag(rounds, 0)
	figs, err := bench.Run(ctx, ws, bench.Options{
		Only: flag(only, ""), DeployRounds: n, DriftRounds: n, PreflightRounds: n, Log: log, Progress: os.Stderr,
	})
	if werr := bench.Write(os.Stdout, figs); werr != nil && err == nil {
		err = werr
	}
	return err
}
