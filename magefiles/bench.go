//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/bench"
)

// Bench measures deploy:all and drift all against an in-process sandbox, as ratios.
//
// deploy:all: 20 generated tenants, 150 ms API latency, -parallel=4 against sequential;
// drift all: 100 tenants, 100 ms, concurrent against sequential. Printed as `name: value`
// lines. Ratios are measured side by side in one run, with the raw medians beside them. It takes
// minutes (the deploy figure runs wrangler 60 times) and is not part of `mage ci`.
func Bench(ctx context.Context,
	only *string, // deploy or drift: run only that benchmark
	rounds *int, // repeat each variant N times
) error {
	if o := flag(only, ""); o != "" && o != "deploy" && o != "drift" {
		return fmt.Errorf("bench: -only=%q: use -only=deploy or -only=drift (or leave it out for both)", o)
	}
	if flag(rounds, 0) < 0 {
		return fmt.Errorf("bench: -rounds=%d: use a positive number of rounds (or leave it out)", *rounds)
	}
	mg.CtxDeps(ctx, NodeModules)
	ws, log, err := setup()
	if err != nil {
		return err
	}
	n := flag(rounds, 0)
	figs, err := bench.Run(ctx, ws, bench.Options{
		Only: flag(only, ""), DeployRounds: n, DriftRounds: n, Log: log, Progress: os.Stderr,
	})
	if werr := bench.Write(os.Stdout, figs); werr != nil && err == nil {
		err = werr
	}
	return err
}
