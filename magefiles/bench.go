//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/bench"
)

// Bench measures fleet deploys, drift, fleet:status, report:html and the sandbox edge.
//
// It prints `name: value` lines; ratios are measured side by side in one run, with the raw
// medians beside them. It takes minutes (wrangler runs over a hundred times) and is not part
// of `mage ci`.
// deploy: 20 generated tenants, 150 ms API latency, -parallel=4 vs sequential. drift and
// status (fleet:status): 100 tenants, 100 ms, concurrent vs sequential. report (report:html):
// 500 synthetic tenants, size and headless Chromium load time (needs Chromium). edge:
// deploy:all of 20 tenants with the workerd edge vs the fake one, then a version's cold start,
// steady request latency and resident memory per running version.
// preflight (preflight all): 100 tenants, 100 ms, concurrent vs sequential, and its API
// requests per tenant.
func Bench(ctx context.Context,
	only *string, // deploy, drift, status, report, edge or preflight: run only that benchmark
	rounds *int, // repeat each variant N times
) error {
	switch o := flag(only, ""); o {
	case "", "deploy", "drift", "status", "report", "edge", "preflight":
	default:
		return fmt.Errorf("bench: -only=%q: use deploy, drift, status, report, edge or preflight (or leave it out for all)", o)
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
		Only: flag(only, ""), DeployRounds: n, DriftRounds: n, ReportRounds: n, PreflightRounds: n, Log: log, Progress: os.Stderr,
	})
	if werr := bench.Write(os.Stdout, figs); werr != nil && err == nil {
		err = werr
	}
	return err
}
