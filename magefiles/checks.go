//go:build mage

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/ci"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
	"github.com/rainbowsmoke/crispy-enigma/internal/treecheck"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// tracker announces each check step with its duration. `mage ci` replaces it with one that
// counts the five steps of its chain and prints the closing summary.
var tracker = ci.NewTracker(os.Stdout, 0)

// NodeModules installs the node packages (npm ci) when node_modules is missing or stale.
//
// Every target that needs wrangler or tsc depends on it (mg.CtxDeps), so it runs once per
// invocation whatever the chain.
func NodeModules(ctx context.Context) error {
	ws, log, err := setup()
	if err != nil {
		return err
	}
	return npmdeps.Ensure(ctx, log, ws.Root)
}

// runStep runs one check step of internal/ci through the tracker.
func runStep(ctx context.Context, mk func(ci.Options) ci.Step, fuzz time.Duration) error {
	ws, log, err := setup()
	if err != nil {
		return err
	}
	return tracker.Run(ctx, mk(ci.Options{Workspace: ws, Log: log, FuzzTime: fuzz}))
}

// Lint checks Go formatting, go vet, staticcheck and actionlint over the workflows.
func Lint(ctx context.Context) error {
	return runStep(ctx, ci.Lint, 0)
}

// Typecheck builds the Go module and typechecks the Worker's TypeScript.
func Typecheck(ctx context.Context) error {
	mg.CtxDeps(ctx, NodeModules)
	return runStep(ctx, ci.Typecheck, 0)
}

// Test runs the Go tests (race detector), a short fuzz and the Worker's tests.
func Test(ctx context.Context,
	fuzzTime *string, // how long each Fuzz target runs: a Go duration (default 10s; 0 skips fuzzing)
) error {
	d, err := ci.ParseFuzzTime(flag(fuzzTime, ""))
	if err != nil {
		return err
	}
	mg.CtxDeps(ctx, NodeModules)
	return test(ctx, d)
}

// test is Test with a parsed duration, so that `mage ci` can chain it with mg.F (which takes
// no pointer arguments).
func test(ctx context.Context, fuzz time.Duration) error {
	return runStep(ctx, ci.Test, fuzz)
}

// validateAll is the validate step of `mage ci`: `mage validate all` with the step's banner.
func validateAll(ctx context.Context) error {
	mg.CtxDeps(ctx, NodeModules)
	return runStep(ctx, ci.Validate, 0)
}

// CI runs every CI check in order: lint, typecheck, test, validate all, build all.
//
// It is a chain of Mage dependencies (mg.SerialCtxDeps): each step is its own target,
// announced with its duration; the first failure stops the chain and is named.
func CI(ctx context.Context,
	fuzzTime *string, // how long each Fuzz target runs: a Go duration (default 10s; 0 skips fuzzing)
) (err error) {
	d, err := ci.ParseFuzzTime(flag(fuzzTime, ""))
	if err != nil {
		return err
	}
	tracker = ci.NewTracker(os.Stdout, 5)
	defer func() {
		// A failed dependency panics out of mg.SerialCtxDeps with its error as text; the
		// tracker still knows which step it was.
		r := recover()
		if r == nil {
			return
		}
		if f := tracker.Failed(); f != nil {
			err = fmt.Errorf("ci: %w", f)
			return
		}
		err = fmt.Errorf("ci: %v", r)
	}()
	start := time.Now()
	mg.SerialCtxDeps(ctx, NodeModules, Lint, Typecheck, mg.F(test, d), validateAll, mg.F(Build, "all"))
	fmt.Println(tracker.Summary("ci"))
	// ci runs a superset of every deploy's checks: a deploy of this tree, here or on any
	// machine that shares the remote (refs/notes/checks), need not run them again.
	if ws, log, err := setup(); err == nil {
		if err := treecheck.RecordCI(ctx, ws, "", time.Since(start)); err != nil {
			log.Warn("this tree passed, but the pass is remembered on this machine only", "err", err)
		}
	}
	return nil
}

// checked is what the deploy checks found in this run (nil until treeChecks ran), for the
// deploy records: a Mage dependency returns nothing but its error.
var checked *history.Checks

// treeChecks is the dependency of a staging or production deploy of target (a tenant, "all"
// or a comma-separated list) to env: the deploy checks of this tree (the Worker's typecheck
// and tests, validation of those tenants, their build), unless it already passed them or
// `mage ci`; with emergency only the Worker's typecheck. A failure does not stop here: the
// deploy refuses with a record naming the failed check (deploy's checks step). Its lines go
// to stderr, so that -json=true keeps stdout to one document.
func treeChecks(ctx context.Context, emergency bool, target, env string) error {
	ws, log, err := setup()
	if err != nil {
		return err
	}
	scope, err := treecheck.ScopeOf(ws, target, env)
	if err != nil {
		return err
	}
	o := ci.Options{Workspace: ws, Log: log}
	res, err := treecheck.Gate(ctx, treecheck.Options{
		Workspace: ws, Steps: ci.DeploySteps(o, scope), Covers: scope.Covers(), Always: []ci.Step{ci.WorkerTypecheck(o)},
		Emergency: emergency, Out: os.Stderr,
	})
	if err != nil && res.Status != treecheck.StatusFailed {
		return fmt.Errorf("deploy refused before anything was uploaded: %w", err)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "checks: %v: the deploy is refused and recorded\n", err)
	}
	checked = &res
	return nil
}

// Build bundles a tenant's envs (or all) with wrangler deploy --dry-run into .build/.
//
// It uses no token and no network.
func Build(ctx context.Context, target string) error {
	mg.CtxDeps(ctx, NodeModules)
	ws, log, err := setup()
	if err != nil {
		return err
	}
	return tracker.Run(ctx, ci.Step{Name: "build", Run: func(ctx context.Context, out io.Writer) error {
		_, err := ci.BuildTenants(ctx, ws, wrangler.New(ws, log), target, out)
		return err
	}})
}
