package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/fleetstatus"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

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
	base := w.StatusOptions(inputs)
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
