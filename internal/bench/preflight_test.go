package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/preflight"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// PreflightAll measures `preflight all staging` over o.PreflightTenants generated tenants
// with o.PreflightLatency on every API request: o.PreflightParallel tenants at once against
// one at a time, and the API requests spent per tenant. Each tenant's Worker exists with its
// secrets (seeded as for drift), so every check runs: token, account, secrets, KV,
// Vectorize and Durable Objects.
func PreflightAll(ctx context.Context, repo workspace.Workspace, o Options) ([]Figure, error) {
	o.defaults()
	dir, cleanup, err := workDir(o.Dir, "preflight")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	fmt.Fprintf(o.Progress, "bench preflight: generating %d tenants and seeding the sandbox\n", o.PreflightTenants)
	w, err := sandboxworld.New(repo, dir, sandboxworld.Options{Generate: o.PreflightTenants})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	if _, err := w.Seed(ctx, o.Log); err != nil {
		return nil, err
	}
	a := preflight.Access{Workspace: w.WS, APIBaseURL: w.APIBaseURL, HTTPClient: w.HTTPClient, Lookup: w.Lookup, Log: o.Log}
	names := w.Names()
	targets := make([]preflight.Target, 0, len(names))
	for _, n := range names {
		t, err := preflight.TargetFor(ctx, w.WS, n, tenant.Staging)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
	}
	check := func(parallel int) (time.Duration, int, error) {
		before := requests(w)
		start := time.Now()
		reps, err := preflight.RunAll(ctx, targets, a.Dial(), parallel)
		took := time.Since(start)
		if err != nil {
			return 0, 0, err
		}
		for _, r := range reps {
			if !r.Ready() || r.FirstDeploy {
				return 0, 0, fmt.Errorf("%s is not ready (%v): the benchmark world is wrong", r.Tenant, r.Err())
			}
		}
		return took, requests(w) - before, nil
	}
	w.Sandbox.SetLatency(o.PreflightLatency)
	seq, par, spent, err := sideBySide(o.Progress, "preflight", o.PreflightRounds, o.PreflightParallel, check)
	if err != nil {
		return nil, err
	}
	ms, mp := median(seq), median(par)
	return []Figure{
		{"preflight_all.tenants", fmt.Sprint(len(names))},
		{"preflight_all.api_latency", o.PreflightLatency.String()},
		{fmt.Sprintf("preflight_all.parallel%d_vs_sequential", o.PreflightParallel), ratio(mp, ms)},
		{"preflight_all.sequential.median", seconds(ms)},
		{fmt.Sprintf("preflight_all.parallel%d.median", o.PreflightParallel), seconds(mp)},
		{"preflight_all.sequential.runs", list(seq)},
		{fmt.Sprintf("preflight_all.parallel%d.runs", o.PreflightParallel), list(par)},
		{"preflight.api_requests_per_tenant", fmt.Sprintf("%.1f (an existing Worker: every check runs)", float64(spent)/float64(len(names)))},
	}, nil
}
