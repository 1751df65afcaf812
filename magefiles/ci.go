//go:build mage

package main

import (
	"context"
	"os"

	"github.com/rainbowsmoke/crispy-enigma/internal/ci"
)

// CI runs everything CI checks, in order, and names the step that fails: lint, typecheck, test, validate all, and a dry-run build of every tenant and environment.
//
// Each step is announced with its duration. -fuzzTime=<duration> sets how long each Fuzz
// target runs (default 10s; 0 skips fuzzing).
func CI(ctx context.Context, fuzzTime *string) error {
	ws, log, err := setup()
	if err != nil {
		return err
	}
	opts := ci.Options{Workspace: ws, Log: log}
	if opts.FuzzTime, err = ci.ParseFuzzTime(flag(fuzzTime, "")); err != nil {
		return err
	}
	return ci.RunAll(ctx, opts, os.Stdout)
}
