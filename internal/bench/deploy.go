package bench

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/fleet"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// DeployAll measures `deploy:all staging` over o.DeployTenants generated tenants with
// o.DeployLatency on every API request: -parallel=o.DeployParallel against sequential. Each
// round changes the Worker's code before each variant, so every tenant really builds, uploads
// and verifies a new version both times. A first, untimed fleet deploy creates the Workers
// (wrangler takes another path for a Worker's first upload).
func DeployAll(ctx context.Context, repo workspace.Workspace, o Options) ([]Figure, error) {
	o.defaults()
	dir, cleanup, err := workDir(o.Dir, "deploy")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	w, err := sandboxworld.New(repo, dir, sandboxworld.Options{Generate: o.DeployTenants})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	base, err := w.DeployOptions(o.Log)
	if err != nil {
		return nil, err
	}
	base.Env = "staging"
	sel, err := fleet.Select(w.Names(), "staging", "", "")
	if err != nil {
		return nil, err
	}
	var childCPU time.Duration
	deployAll := func(parallel int) (time.Duration, error) {
		cpu0 := childrenCPU()
		start := time.Now()
		sum := fleet.Run(ctx, sel, fleet.DeployTask(base), fleet.Options{Parallel: parallel})
		took := time.Since(start)
		childCPU += childrenCPU() - cpu0
		if err := sum.Err(); err != nil {
			return 0, err
		}
		for _, oc := range sum.Outcomes {
			if oc.Status != fleet.Succeeded {
				return 0, fmt.Errorf("%s ended %s: every tenant must deploy a new version for the figure to mean anything", oc.Tenant, oc.Status)
			}
		}
		return took, nil
	}

	fmt.Fprintf(o.Progress, "bench deploy:all: first deploy of %d generated tenants (untimed)\n", len(sel.Tenants))
	if _, err := deployAll(o.DeployParallel); err != nil {
		return nil, fmt.Errorf("first deploy: %w", err)
	}
	// As an operator does after a first deploy: later deploys need the required secrets set.
	if err := w.SetAllSecrets("staging"); err != nil {
		return nil, err
	}
	w.Sandbox.SetLatency(o.DeployLatency)
	childCPU = 0
	var seq, par []time.Duration
	for round := 1; round <= o.DeployRounds; round++ {
		fmt.Fprintf(o.Progress, "bench deploy:all: round %d/%d: sequential, then -parallel=%d\n", round, o.DeployRounds, o.DeployParallel)
		if err := w.ChangeCode(fmt.Sprintf("seq%d", round)); err != nil {
			return nil, err
		}
		s, err := deployAll(1)
		if err != nil {
			return nil, fmt.Errorf("sequential: %w", err)
		}
		if err := w.ChangeCode(fmt.Sprintf("par%d", round)); err != nil {
			return nil, err
		}
		p, err := deployAll(o.DeployParallel)
		if err != nil {
			return nil, fmt.Errorf("parallel: %w", err)
		}
		seq, par = append(seq, s), append(par, p)
	}
	ms, mp := median(seq), median(par)

	// One tenant: an immediate deploy against a 3-step rollout with no bake, so the ratio is
	// what the gate at 0% and the two extra `wrangler versions deploy` runs cost.
	one := sel.Tenants[0]
	var imm, grad []time.Duration
	for round := 1; round <= o.DeployRounds; round++ {
		fmt.Fprintf(o.Progress, "bench deploy:tenant %s: round %d/%d: immediate, then -rollout=10,50,100 -bake=0s\n", one, round, o.DeployRounds)
		for _, gradual := range []bool{false, true} {
			if err := w.ChangeCode(fmt.Sprintf("ro%d%v", round, gradual)); err != nil {
				return nil, err
			}
			opts := base
			opts.Tenant = tenant.Name(one) // from the selection: a listed folder
			if gradual {
				opts.Rollout = &deploy.Rollout{Percents: []float64{10, 50, 100}}
			}
			start := time.Now()
			out, err := deploy.Run(ctx, opts)
			took := time.Since(start)
			if err != nil || out.Record.Status != history.StatusSucceeded {
				return nil, fmt.Errorf("%s (gradual %v): %s: %w", one, gradual, out.Record.Status, err)
			}
			if gradual {
				grad = append(grad, took)
			} else {
				imm = append(imm, took)
			}
		}
	}
	mi, mg := median(imm), median(grad)
	return []Figure{
		{"deploy_all.tenants", fmt.Sprint(len(sel.Tenants))},
		{"deploy_all.api_latency", o.DeployLatency.String()},
		{fmt.Sprintf("deploy_all.parallel%d_vs_sequential", o.DeployParallel), ratio(mp, ms) + " (goal <= 0.4)"},
		{"deploy_all.sequential.median", seconds(ms)},
		{fmt.Sprintf("deploy_all.parallel%d.median", o.DeployParallel), seconds(mp)},
		{"deploy_all.sequential.runs", list(seq)},
		{fmt.Sprintf("deploy_all.parallel%d.runs", o.DeployParallel), list(par)},
		// Why the ratio cannot go below a floor: wrangler (node, esbuild) needs this much CPU
		// per tenant deploy, and only this many CPUs share it.
		{"deploy_all.wrangler_cpu_per_tenant", seconds(childCPU / time.Duration(2*o.DeployRounds*len(sel.Tenants)))},
		{"machine.cpus", fmt.Sprint(runtime.NumCPU())},
		{"rollout.3_steps_zero_bake_vs_immediate", ratio(mg, mi)},
		{"rollout.immediate.median", seconds(mi)},
		{"rollout.3_steps_zero_bake.median", seconds(mg)},
	}, nil
}
