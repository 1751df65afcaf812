//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/bench"
)

// Bench measures deploy:all, drift, fleet:status and report:html against a sandbox.
//
// It prints `name: value` lines; ratios are measured side by side in one run, with the raw
// medians beside them. It takes minutes (the deploy figure runs wrangler 60 times) and is not
// part of `mage ci`.
// deploy:all: 20 generated tenants, 150 ms API latency, -parallel=4 vs sequential; drift all and
// fleet:status: 100 tenants, 100 ms, concurrent vs sequential; report:html: 500 synthetic tenants,
// size and headless Chromium load time (needs /usr/bin/chromium).
func Bench(ctx context.Context,
	only *string, // deploy, drift, status or report: run only that benchmark
	rounds *int, // repeat each variant N times
) error {
	switch o := flag(only, ""); o {
	case "", "deploy", "drift", "status", "report":
	default:
		return fmt.Errorf("bench: -only=%q: use deploy, drift, status or report (or leave it out for all)", o)
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
		Only: flag(only, ""), DeployRounds: n, DriftRounds: n, ReportRounds: n, Log: log, Progress: os.Stderr,
	})
	if werr := bench.Write(os.Stdout, figs); werr != nil && err == nil {
		err = werr
	}
	return err
}
