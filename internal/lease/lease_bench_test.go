package lease_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
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
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// BenchmarkLease measures, side by side in one run against a local bare remote and an
// in-process sandbox with the real wrangler:
//   - lease/deploy: one deploy:tenant's lease work (take with the records pull, a check per
//     step, release with the records push) over the wall time of that deploy without a lease;
//   - with/without: deploy:all staging of 20 generated tenants with leases over without.
//
// Each iteration deploys a new version (a code change) in both variants, alternating.
// Run it with: go test ./internal/lease -run '^$' -bench BenchmarkLease -benchtime=1x
func BenchmarkLease(b *testing.B) {
	const tenants, parallel, checksPerDeploy = 20, 4, 12
	repo := testrepo.Repo(b)
	testrepo.NeedWrangler(b, repo)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	w, err := sandboxworld.New(repo, b.TempDir(), sandboxworld.Options{Generate: tenants})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	// The world becomes a clone with a local bare remote, as a team's checkout is.
	bare := filepath.Join(b.TempDir(), "team.git")
	for _, args := range [][]string{{"init", "-q"}, {"init", "-q", "--bare", bare}, {"remote", "add", "origin", bare}} {
		if _, err := gitrun.Run(ctx, w.WS.Root, nil, nil, args...); err != nil {
			b.Fatal(err)
		}
	}
	g, err := lease.NewGuard(ctx, lease.Config{Repo: w.WS.Root, StateDir: w.WS.StateDir(), Rehearsal: true, Records: w.WS.DeploymentsDir(), Log: log})
	if err != nil {
		b.Fatal(err)
	}
	defer lock.SetTeam(nil)
	base, err := w.DeployOptions(log)
	if err != nil {
		b.Fatal(err)
	}
	base.Env = "staging"
	deployAll := func(leased bool) time.Duration {
		b.Helper()
		if leased {
			lock.SetTeam(g)
		} else {
			lock.SetTeam(nil)
		}
		start := time.Now()
		sum, err := fleet.DeployAll(ctx, fleet.DeployAllOptions{Env: "staging", Parallel: parallel, Workspace: w.WS,
			Prepare: func(context.Context) (deploy.Options, error) { return base, nil }, Stdout: io.Discard, Stderr: io.Discard})
		took := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		for _, oc := range sum.Outcomes {
			if oc.Status != fleet.Succeeded {
				b.Fatalf("%s ended %s: every tenant must deploy a new version", oc.Tenant, oc.Status)
			}
		}
		return took
	}
	deployOne := func() time.Duration {
		b.Helper()
		lock.SetTeam(nil)
		opts := base
		opts.Tenant = tenant.Name(w.Names()[0])
		start := time.Now()
		out, err := deploy.Run(ctx, opts)
		if err != nil || out.Record.Status != history.StatusSucceeded {
			b.Fatalf("deploy: %s %v", out.Record.Status, err)
		}
		return time.Since(start)
	}
	leaseCycle := func() time.Duration {
		b.Helper()
		start := time.Now()
		h, err := g.Take(ctx, w.Names()[0], "staging", "bench")
		if err != nil {
			b.Fatal(err)
		}
		for range checksPerDeploy {
			if err := h.Check(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if err := h.Release(ctx); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	deployAll(false) // untimed: creates the Workers (a first upload takes another path)
	if err := w.SetAllSecrets("staging"); err != nil {
		b.Fatal(err)
	}
	var with, without, one, cycle []time.Duration
	b.ResetTimer()
	for i := range b.N {
		for _, leased := range []bool{false, true} {
			if err := w.ChangeCode(fmt.Sprintf("lease%d%v", i, leased)); err != nil {
				b.Fatal(err)
			}
			d := deployAll(leased)
			if leased {
				with = append(with, d)
			} else {
				without = append(without, d)
			}
		}
		if err := w.ChangeCode(fmt.Sprintf("one%d", i)); err != nil {
			b.Fatal(err)
		}
		one = append(one, deployOne())
		cycle = append(cycle, leaseCycle())
	}
	b.StopTimer()
	b.ReportMetric(ratio(median(with), median(without)), "deploy:all-with/without")
	b.ReportMetric(ratio(median(cycle), median(one)), "lease/deploy")
	b.ReportMetric(median(cycle).Seconds()*1000, "lease-ms/deploy")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }
