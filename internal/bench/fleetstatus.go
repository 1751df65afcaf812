package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/drift"
	"github.com/rainbowsmoke/crispy-enigma/internal/fleetstatus"
	"github.com/rainbowsmoke/crispy-enigma/internal/health"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// SeedWorld deploys an equivalent Worker for every tenant of w in staging through the sandbox
// API (one wrangler build in all) and returns each tenant's drift input: a world where
// `drift all staging` is in sync, for benchmarks and for tests of what reads the fleet.
func SeedWorld(ctx context.Context, w *sandboxworld.World, o Options) (map[string]drift.Input, error) {
	o.defaults()
	return seedDrift(ctx, w, o)
}

// StatusOptions are fleetstatus options over a seeded world: the seeded inputs, health through
// the world's edge, records from the world's records folder.
func StatusOptions(w *sandboxworld.World, inputs map[string]drift.Input) fleetstatus.Options {
	return fleetstatus.Options{
		Tenants: w.Names(), Envs: []tenant.Env{tenant.Staging},
		Prepare: func(ctx context.Context, t string, _ tenant.Env) (drift.Input, error) { return inputs[t], nil },
		Records: history.Open(w.WS.DeploymentsDir()).ReadableOf,
		Probe: func(ctx context.Context, name, env string) (health.Check, error) {
			t, err := tenant.Load(ctx, w.WS, name)
			if err != nil {
				return health.Check{}, err
			}
			u, err := t.HealthURL(tenant.Env(env))
			if err != nil {
				return health.Check{}, err
			}
			return health.Check{URL: u, Expect: t.Config.HealthCheck.Expect, Client: w.HTTPClient}, nil
		},
	}
}

// FleetStatus measures `fleet:status` over o.DriftTenants generated tenants (staging) with
// o.DriftLatency on every API request (the health request has none): o.DriftParallel
// tenant/envs at once against one at a time, and the API requests spent per tenant.
func FleetStatus(ctx context.Context, repo workspace.Workspace, o Options) ([]Figure, error) {
	o.defaults()
	w, inputs, closeAll, err := seededWorld(ctx, repo, o, "status", "fleet:status")
	if err != nil {
		return nil, err
	}
	defer closeAll()
	base := StatusOptions(w, inputs)
	run := func(parallel int) (time.Duration, int, error) {
		before := requests(w)
		o := base
		o.Parallel = parallel
		start := time.Now()
		rows := fleetstatus.Collect(ctx, o)
		took := time.Since(start)
		for _, r := range rows {
			if r.State != fleetstatus.StateOK {
				return 0, 0, fmt.Errorf("%s/%s is %s (%s): the benchmark world is not ok", r.Tenant, r.Env, r.State, r.Error)
			}
		}
		return took, requests(w) - before, nil
	}
	w.Sandbox.SetLatency(o.DriftLatency)
	seq, par, spent, err := sideBySide(o.Progress, "fleet:status", o.DriftRounds, o.DriftParallel, run)
	if err != nil {
		return nil, err
	}
	ms, mp := median(seq), median(par)
	return []Figure{
		{"fleet_status.tenants", fmt.Sprint(len(w.Names()))},
		{"fleet_status.api_latency", o.DriftLatency.String()},
		{fmt.Sprintf("fleet_status.parallel%d_vs_sequential", o.DriftParallel), ratio(mp, ms)},
		{"fleet_status.sequential.median", seconds(ms)},
		{fmt.Sprintf("fleet_status.parallel%d.median", o.DriftParallel), seconds(mp)},
		{"fleet_status.sequential.runs", list(seq)},
		{fmt.Sprintf("fleet_status.parallel%d.runs", o.DriftParallel), list(par)},
		{"fleet_status.api_requests_per_tenant", fmt.Sprintf("%.1f (+1 health request)", float64(spent)/float64(len(w.Names())))},
	}, nil
}
