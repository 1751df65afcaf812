package bench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/fleet"
	"github.com/rainbowsmoke/crispy-enigma/internal/gitrun"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/lease"
	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Leases measures the cross-machine lease against a local bare remote, side by side in one
// run with the real wrangler and an in-process sandbox:
//   - lease.per_deploy_vs_deploy_wall: one deploy's lease work (take with the records pull, a
//     check before each step, release with the records push) over the wall time of a deploy
//     without a lease;
//   - deploy_all_20.leased_vs_unleased: deploy:all staging of 20 generated tenants
//     (-parallel=4) with leases over without.
//
// Each round deploys a new version (a code change) in both variants, alternating.
func Leases(ctx context.Context, repo workspace.Workspace, o Options) ([]Figure, error) {
	o.defaults()
	const checksPerDeploy = 12
	dir, cleanup, err := workDir(o.Dir, "lease")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	w, err := sandboxworld.New(repo, dir, sandboxworld.Options{Generate: o.DeployTenants})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	// The world becomes a clone with a local bare remote, as a team's checkout is.
	bare := filepath.Join(dir, "team.git")
	for _, args := range [][]string{{"init", "-q"}, {"init", "-q", "--bare", bare}, {"remote", "add", "origin", bare}} {
		if _, err := gitrun.Run(ctx, w.WS.Root, nil, nil, args...); err != nil {
			return nil, err
		}
	}
	g, err := lease.NewGuard(ctx, lease.Config{Repo: w.WS.Root, StateDir: w.WS.StateDir(), Rehearsal: true, Records: w.WS.DeploymentsDir(), Log: o.Log})
	if err != nil {
		return nil, err
	}
	defer lock.SetTeam(nil)
	base, err := w.DeployOptions(o.Log)
	if err != nil {
		return nil, err
	}
	base.Env = "staging"
	deployAll := func(leased bool) (time.Duration, error) {
		lock.SetTeam(nil)
		if leased {
			lock.SetTeam(g)
		}
		start := time.Now()
		sum, err := fleet.DeployAll(ctx, fleet.DeployAllOptions{Env: "staging", Parallel: o.DeployParallel, Workspace: w.WS,
			Prepare: func(context.Context) (deploy.Options, error) { return base, nil }, Stdout: io.Discard, Stderr: io.Discard})
		took := time.Since(start)
		if err != nil {
			return 0, err
		}
		for _, oc := range sum.Outcomes {
			if oc.Status != fleet.Succeeded {
				return 0, fmt.Errorf("%s ended %s: every tenant must deploy a new version", oc.Tenant, oc.Status)
			}
		}
		return took, nil
	}
	deployOne := func() (time.Duration, error) {
		lock.SetTeam(nil)
		opts := base
		opts.Tenant = tenant.Name(w.Names()[0])
		start := time.Now()
		out, err := deploy.Run(ctx, opts)
		if err != nil || out.Record.Status != history.StatusSucceeded {
			return 0, fmt.Errorf("deploy: %s %v", out.Record.Status, err)
		}
		return time.Since(start), nil
	}
	leaseCycle := func() (time.Duration, error) {
		start := time.Now()
		h, err := g.Take(ctx, w.Names()[0], "staging", "bench")
		if err != nil {
			return 0, err
		}
		for range checksPerDeploy {
			if err := h.Check(ctx); err != nil {
				return 0, err
			}
		}
		if err := h.Release(ctx); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	fmt.Fprintf(o.Progress, "bench lease: first deploy:all of %d generated tenants (untimed)\n", o.DeployTenants)
	if _, err := deployAll(false); err != nil { // a first upload takes another path
		return nil, err
	}
	if err := w.SetAllSecrets("staging"); err != nil {
		return nil, err
	}
	var with, without, one, cycle []time.Duration
	for i := range max(o.DeployRounds, 1) {
		for _, leased := range []bool{false, true} {
			if err := w.ChangeCode(fmt.Sprintf("lease%d%v", i, leased)); err != nil {
				return nil, err
			}
			fmt.Fprintf(o.Progress, "bench lease: round %d: deploy:all of %d tenants, leased=%v\n", i+1, o.DeployTenants, leased)
			d, err := deployAll(leased)
			if err != nil {
				return nil, err
			}
			if leased {
				with = append(with, d)
			} else {
				without = append(without, d)
			}
		}
		if err := w.ChangeCode(fmt.Sprintf("one%d", i)); err != nil {
			return nil, err
		}
		d, err := deployOne()
		if err != nil {
			return nil, err
		}
		c, err := leaseCycle()
		if err != nil {
			return nil, err
		}
		one, cycle = append(one, d), append(cycle, c)
	}
	return []Figure{
		{"lease.per_deploy_vs_deploy_wall", ratio(median(cycle), median(one))},
		{"lease.per_deploy.median", seconds(median(cycle))},
		{"lease.deploy_wall_without.median", seconds(median(one))},
		{fmt.Sprintf("deploy_all_%d.leased_vs_unleased", o.DeployTenants), ratio(median(with), median(without))},
		{fmt.Sprintf("deploy_all_%d.leased.median", o.DeployTenants), seconds(median(with))},
		{fmt.Sprintf("deploy_all_%d.unleased.median", o.DeployTenants), seconds(median(without))},
	}, nil
}

// BenchmarkLease: the lease's cost per deploy against a local bare remote, and deploy:all of
// 20 tenants with leases vs without.
func BenchmarkLease(b *testing.B) {
	o := Options{}
	if *small {
		o.DeployTenants, o.DeployParallel = 6, 3
	}
	run(b, Leases, o)
}
