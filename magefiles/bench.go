//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/rainbowsmoke/crispy-enigma/internal/bench"
	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
)

// Bench measures deploy:all, drift and the workerd edge in-process, printed as `name: value` lines.
//
// deploy: 20 generated tenants, 150 ms API latency, -parallel=4 vs sequential. drift: 100
// tenants, 100 ms, concurrent vs sequential. edge: deploy:all of 20 tenants with the workerd
// edge vs the fake one, then a version's cold start, steady request latency and resident
// memory per running version. Ratios are measured side by side in one run, with the raw
// medians beside them. It takes minutes (wrangler runs over a hundred times) and is not part
// of `mage ci`. -only=deploy, -only=drift or -only=edge runs one of them; -rounds=N repeats
// each variant N times.
func Bench(ctx context.Context, only *string, rounds *int) error {
	ws, log, err := setup()
	if err != nil {
		return err
	}
	if err := npmdeps.Ensure(ctx, log, ws.Root); err != nil {
		return err
	}
	n := flag(rounds, 0)
	switch o := flag(only, ""); o {
	case "", "deploy", "drift", "edge":
	default:
		return fmt.Errorf("bench: -only=%s is unknown; use deploy, drift or edge", o)
	}
	figs, err := bench.Run(ctx, ws, bench.Options{
		Only: flag(only, ""), DeployRounds: n, DriftRounds: n, Log: log, Progress: os.Stderr,
	})
	if werr := bench.Write(os.Stdout, figs); werr != nil && err == nil {
		err = werr
	}
	return err
}
