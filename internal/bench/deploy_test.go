package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/fleet"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// DeployAll measures `deploy:all staging` over o.DeployTenants generated tenants with
// o.DeployLatency on every API request, through fleet.DeployAll (the preflight gate and the
// shared build included): -parallel=o.DeployParallel against sequential, and the same parallel
// run as deploy:all ran before the shared build and the code cache (every tenant bundling,
// node compiling wrangler each time), for the CPU figures. Each variant of a round follows a
// code change, so every tenant really builds, uploads and verifies a new version each time. A
// first, untimed fleet deploy creates the Workers (wrangler takes another path for a Worker's
// first upload).
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
	names := w.Names()
	// childCPU[asBefore] sums wrangler's CPU over the timed runs of that kind, runs[…] counts them.
	childCPU := map[bool]time.Duration{}
	runs := map[bool]int{}
	timed := false
	// The variant "as before" is how deploy:all ran before the shared build and wrangler's code
	// cache: every tenant bundles, and node compiles wrangler's CLI on every run.
	before := base
	before.Runner = wrangler.New(w.WS, o.Log)
	before.Runner.CodeCache = ""
	deployAll := func(parallel int, buildEach bool) (time.Duration, error) {
		opts := base
		if buildEach {
			opts = before
		}
		cpu0 := childrenCPU()
		start := time.Now()
		sum, err := fleet.DeployAll(ctx, fleet.DeployAllOptions{
			Env: "staging", Parallel: parallel, BuildEach: buildEach, Workspace: w.WS,
			Prepare: func(context.Context) (deploy.Options, error) { return opts, nil },
			Stdout:  io.Discard, Stderr: io.Discard,
		})
		took := time.Since(start)
		if timed {
			childCPU[buildEach] += childrenCPU() - cpu0
			runs[buildEach]++
		}
		if err != nil {
			return 0, err
		}
		for _, oc := range sum.Outcomes {
			if oc.Status != fleet.Succeeded {
				return 0, fmt.Errorf("%s ended %s: every tenant must deploy a new version for the figure to mean anything", oc.Tenant, oc.Status)
			}
		}
		return took, nil
	}

	fmt.Fprintf(o.Progress, "bench deploy:all: first deploy of %d generated tenants (untimed)\n", len(names))
	if _, err := deployAll(o.DeployParallel, false); err != nil {
		return nil, fmt.Errorf("first deploy: %w", err)
	}
	// As an operator does after a first deploy: later deploys need the required secrets set.
	if err := w.SetAllSecrets("staging"); err != nil {
		return nil, err
	}
	w.Sandbox.SetLatency(o.DeployLatency)
	timed = true
	var seq, par, each []time.Duration
	for round := 1; round <= o.DeployRounds; round++ {
		fmt.Fprintf(o.Progress, "bench deploy:all: round %d/%d: sequential, -parallel=%d, then -parallel=%d as before (a build per tenant, no code cache)\n", round, o.DeployRounds, o.DeployParallel, o.DeployParallel)
		for _, v := range []struct {
			name      string
			parallel  int
			buildEach bool
			into      *[]time.Duration
		}{{"sequential", 1, false, &seq}, {"parallel", o.DeployParallel, false, &par}, {"parallel, as before", o.DeployParallel, true, &each}} {
			if err := w.ChangeCode(fmt.Sprintf("%s%d", v.name, round)); err != nil {
				return nil, err
			}
			d, err := deployAll(v.parallel, v.buildEach)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v.name, err)
			}
			*v.into = append(*v.into, d)
		}
	}
	timed = false
	perTenant := func(buildEach bool) string {
		if runs[buildEach] == 0 {
			return "n/a"
		}
		return seconds(childCPU[buildEach] / time.Duration(runs[buildEach]*len(names)))
	}
	ms, mp := median(seq), median(par)

	// One tenant: an immediate deploy against a 3-step rollout with no bake, so the ratio is
	// what the gate at 0% and the two extra `wrangler versions deploy` runs cost.
	one := names[0]
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
		{"deploy_all.tenants", fmt.Sprint(len(names))},
		{"deploy_all.api_latency", o.DeployLatency.String()},
		{fmt.Sprintf("deploy_all.parallel%d_vs_sequential", o.DeployParallel), ratio(mp, ms) + " (goal <= 0.2)"},
		{"deploy_all.sequential.median", seconds(ms)},
		{fmt.Sprintf("deploy_all.parallel%d.median", o.DeployParallel), seconds(mp)},
		{"deploy_all.sequential.runs", list(seq)},
		{fmt.Sprintf("deploy_all.parallel%d.runs", o.DeployParallel), list(par)},
		// Why the ratio cannot go below a floor: wrangler (node, esbuild) needs this much CPU
		// per tenant deploy, and only this many CPUs share it. With one build per fleet, each
		// tenant's share of that build is in its figure.
		{"deploy_all.wrangler_cpu_per_tenant", perTenant(false) + " (every child process: wrangler, the shared build, the node plugins; goal <= 0.5)"},
		{"deploy_all.wrangler_cpu_per_tenant.as_before", perTenant(true)},
		{"deploy_all.wrangler_cpu.now_vs_before", ratio(childCPU[false]/time.Duration(max(runs[false], 1)), childCPU[true]/time.Duration(max(runs[true], 1)))},
		{fmt.Sprintf("deploy_all.parallel%d.now_vs_before", o.DeployParallel), ratio(mp, median(each))},
		{fmt.Sprintf("deploy_all.parallel%d.as_before.median", o.DeployParallel), seconds(median(each))},
		{"machine.cpus", fmt.Sprint(runtime.NumCPU())},
		{"rollout.3_steps_zero_bake_vs_immediate", ratio(mg, mi)},
		{"rollout.immediate.median", seconds(mi)},
		{"rollout.3_steps_zero_bake.median", seconds(mg)},
	}, nil
}
