package bench

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/drift"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// DriftAll measures `drift all staging` over o.DriftTenants generated tenants with
// o.DriftLatency on every API request: o.DriftParallel tenants at once against one at a time,
// and the API requests spent per tenant.
//
// Every generated tenant deploys the same code, so one wrangler build serves them all: the
// bundle is built once and the sandbox is seeded through its API (as wrangler's first deploy
// would upload it). What is timed is what differs between the two variants: reading each
// tenant's live state and comparing it.
func DriftAll(ctx context.Context, repo workspace.Workspace, o Options) ([]Figure, error) {
	o.defaults()
	w, inputs, closeAll, err := seededWorld(ctx, repo, o, "drift", "drift")
	if err != nil {
		return nil, err
	}
	defer closeAll()
	prepare := func(ctx context.Context, t string, _ tenant.Env) (drift.Input, error) { return inputs[t], nil }
	names := w.Names()

	check := func(parallel int) (time.Duration, int, error) {
		before := requests(w)
		start := time.Now()
		reps := drift.CheckAll(ctx, names, tenant.Staging, prepare, parallel, nil)
		took := time.Since(start)
		for _, r := range reps {
			if r.Status != drift.InSync {
				return 0, 0, fmt.Errorf("%s is %s (%s %+v): the benchmark world is not in sync", r.Tenant, r.Status, r.Error, r.Changes)
			}
		}
		return took, requests(w) - before, nil
	}
	w.Sandbox.SetLatency(o.DriftLatency)
	seq, par, spent, err := sideBySide(o.Progress, "drift", o.DriftRounds, o.DriftParallel, check)
	if err != nil {
		return nil, err
	}
	ms, mp := median(seq), median(par)
	perTenant := float64(spent) / float64(len(names))
	return []Figure{
		{"drift_all.tenants", fmt.Sprint(len(names))},
		{"drift_all.api_latency", o.DriftLatency.String()},
		{fmt.Sprintf("drift_all.parallel%d_vs_sequential", o.DriftParallel), ratio(mp, ms) + " (goal <= 0.15)"},
		{"drift_all.sequential.median", seconds(ms)},
		{fmt.Sprintf("drift_all.parallel%d.median", o.DriftParallel), seconds(mp)},
		{"drift_all.sequential.runs", list(seq)},
		{fmt.Sprintf("drift_all.parallel%d.runs", o.DriftParallel), list(par)},
		{"drift.api_requests_per_tenant", fmt.Sprintf("%.1f (goal <= 8)", perTenant)},
	}, nil
}

func requests(w *sandboxworld.World) int {
	n := 0
	for _, t := range w.Tenants {
		n += w.Sandbox.RequestCount(t.Token)
	}
	return n
}

// seededWorld generates o.DriftTenants tenants in a work folder named for the benchmark,
// seeds the sandbox with them (World.Seed) and returns each tenant's drift input; close
// undoes both, on success only (on an error nothing is left to close).
func seededWorld(ctx context.Context, repo workspace.Workspace, o Options, name, label string) (w *sandboxworld.World, inputs map[string]drift.Input, closeAll func(), err error) {
	dir, cleanup, err := workDir(o.Dir, name)
	if err != nil {
		return nil, nil, nil, err
	}
	fmt.Fprintf(o.Progress, "bench %s: generating %d tenants and seeding the sandbox\n", label, o.DriftTenants)
	w, err = sandboxworld.New(repo, dir, sandboxworld.Options{Generate: o.DriftTenants})
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	if inputs, err = w.Seed(ctx, o.Log); err != nil {
		w.Close()
		cleanup()
		return nil, nil, nil, err
	}
	return w, inputs, func() { w.Close(); cleanup() }, nil
}

// workDir is a fresh folder under dir (the system's temporary folder when dir is ""), and
// how to remove it.
func workDir(dir, name string) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", nil, err
		}
	}
	p, err := os.MkdirTemp(dir, "bench-"+name+"-")
	if err != nil {
		return "", nil, err
	}
	return p, func() { _ = os.RemoveAll(p) }, nil
}
