//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/magefile/mage/mg"
)

// Bench measures fleet deploys, drift, fleet:status, report:html and the sandbox edge.
//
// It prints `name: value` lines; ratios are measured side by side in one run, with the raw
// medians beside them. It takes minutes (wrangler runs over a hundred times) and is not part
// of `mage ci`. The benchmarks are testing.B functions in internal/bench's _test.go files, run
// with go test (`go test -run='^$' -bench=. -benchtime=1x ./internal/bench` reports the
// ratios as metrics).
// deploy: 20 generated tenants, 150 ms API latency, -parallel=4 vs sequential. drift and
// status (fleet:status): 100 tenants, 100 ms, concurrent vs sequential. report (report:html):
// 500 synthetic tenants, size and headless Chromium load time (needs Chromium). edge:
// deploy:all of 20 tenants with the workerd edge vs the fake one, then a version's cold start,
// steady request latency and resident memory per running version.
// preflight (preflight all): 100 tenants, 100 ms, concurrent vs sequential, and its API
// requests per tenant. lease: one deploy's lease work against a local bare remote over the
// deploy's wall time, and deploy:all of 20 tenants with leases vs without.
func Bench(ctx context.Context,
	only *string, // deploy, drift, status, report, edge, preflight or lease: run only that benchmark
	rounds *int, // repeat each variant N times
) error {
	pattern := "^Benchmark(Drift|Preflight|Status|Report|Deploy|Edge|Lease)$"
	switch o := flag(only, ""); o {
	case "":
	case "deploy", "drift", "status", "report", "edge", "preflight", "lease":
		pattern = "^Benchmark" + string(o[0]-'a'+'A') + o[1:] + "$"
	default:
		return fmt.Errorf("bench: -only=%q: use deploy, drift, status, report, edge, preflight or lease (or leave it out for all)", o)
	}
	if flag(rounds, 0) < 0 {
		return fmt.Errorf("bench: -rounds=%d: use a positive number of rounds (or leave it out)", *rounds)
	}
	mg.CtxDeps(ctx, NodeModules)
	ws, _, err := setup()
	if err != nil {
		return err
	}
	out, err := os.MkdirTemp("", "bench-figures-")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(out)
	figures := filepath.Join(out, "figures.txt")
	cmd := exec.CommandContext(ctx, "go", "test", "-run=^$", "-bench="+pattern, "-benchtime=1x", "-count=1", "-timeout=0",
		"./internal/bench", "-args", "-figures="+figures, "-rounds="+strconv.Itoa(flag(rounds, 0)))
	cmd.Dir = ws.Root
	// go test's own lines (progress, the benchmark lines with their metrics) go to stderr:
	// stdout carries the figures alone, as before.
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	runErr := cmd.Run()
	figs, err := os.ReadFile(figures)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("bench: %w", err)
	}
	if _, err := os.Stdout.Write(figs); err != nil {
		return err
	}
	if runErr != nil {
		return fmt.Errorf("bench: go test ./internal/bench: %w (see its output above)", runErr)
	}
	if len(figs) == 0 {
		return fmt.Errorf("bench: no figure was measured (a skipped benchmark says why above)")
	}
	return nil
}
