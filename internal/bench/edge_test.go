package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/fleet"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Edge measures the sandbox's workerd edge against its fake one, side by side in one run:
// `deploy:all staging` of o.EdgeTenants generated tenants (-parallel=o.DeployParallel, no API
// latency, so the edge's own cost shows) with each edge; then, on the real edge, the first
// request to a version (cold start: workerd starts and loads the bundle), steady request
// latency, and resident memory per running version.
func Edge(ctx context.Context, repo workspace.Workspace, o Options) ([]Figure, error) {
	o.defaults()
	worlds := map[sandbox.EdgeMode]*sandboxworld.World{}
	for _, mode := range []sandbox.EdgeMode{sandbox.EdgeFake, sandbox.EdgeWorkerd} {
		dir, cleanup, err := workDir(o.Dir, "edge-"+string(mode))
		if err != nil {
			return nil, err
		}
		defer cleanup()
		eo := sandbox.EdgeOptions{Mode: mode}
		if mode == sandbox.EdgeWorkerd {
			// Room for every tenant: the memory figure wants them all running at once.
			eo = sandbox.EdgeOptions{Mode: mode, NodeModules: filepath.Join(repo.Root, "node_modules"), Dir: filepath.Join(dir, "edge"),
				MaxRunning: o.EdgeTenants + 2, IdleTimeout: time.Hour}
		}
		w, err := sandboxworld.New(repo, filepath.Join(dir, "world"), sandboxworld.Options{Generate: o.EdgeTenants, Edge: eo})
		if err != nil {
			return nil, err
		}
		defer w.Close()
		worlds[mode] = w
	}
	deployAll := func(w *sandboxworld.World, marker string) (time.Duration, error) {
		base, err := w.DeployOptions(o.Log)
		if err != nil {
			return 0, err
		}
		base.Env = "staging"
		sel, err := fleet.Select(w.Names(), "staging", "", "")
		if err != nil {
			return 0, err
		}
		if marker != "" {
			if err := w.ChangeCode(marker); err != nil {
				return 0, err
			}
		}
		start := time.Now()
		sum := fleet.Run(ctx, sel, fleet.DeployTask(base, fleet.Shared{}), fleet.Options{Parallel: o.DeployParallel})
		took := time.Since(start)
		for _, oc := range sum.Outcomes {
			if oc.Status != fleet.Succeeded {
				return 0, fmt.Errorf("%s ended %s (%v)", oc.Tenant, oc.Status, oc.Error)
			}
		}
		return took, sum.Err()
	}
	for mode, w := range worlds {
		fmt.Fprintf(o.Progress, "bench edge: first deploy of %d generated tenants, %s edge (untimed)\n", o.EdgeTenants, mode)
		if _, err := deployAll(w, ""); err != nil {
			return nil, fmt.Errorf("first deploy (%s edge): %w", mode, err)
		}
		if err := w.SetAllSecrets("staging"); err != nil {
			return nil, err
		}
	}
	var fake, real []time.Duration
	for round := 1; round <= o.DeployRounds; round++ {
		for _, mode := range []sandbox.EdgeMode{sandbox.EdgeFake, sandbox.EdgeWorkerd} {
			fmt.Fprintf(o.Progress, "bench edge: round %d/%d: deploy:all -parallel=%d, %s edge\n", round, o.DeployRounds, o.DeployParallel, mode)
			d, err := deployAll(worlds[mode], fmt.Sprintf("edge%s%d", mode, round))
			if err != nil {
				return nil, fmt.Errorf("deploy:all (%s edge): %w", mode, err)
			}
			if mode == sandbox.EdgeFake {
				fake = append(fake, d)
			} else {
				real = append(real, d)
			}
		}
	}

	w := worlds[sandbox.EdgeWorkerd]
	// Every tenant's new version runs now: its health check started it.
	mem := edgeMemory(w.Sandbox.EdgeSupervisorPID())
	running := len(w.Sandbox.Status().Edge.Running)

	fmt.Fprintf(o.Progress, "bench edge: %d requests to one warm version\n", o.EdgeRequests)
	url0 := healthURL(w.Tenants[0])
	var steady []time.Duration
	for range o.EdgeRequests {
		d, err := timedGet(ctx, w.HTTPClient, url0)
		if err != nil {
			return nil, err
		}
		steady = append(steady, d)
	}

	fmt.Fprintf(o.Progress, "bench edge: cold start of %d versions\n", len(w.Tenants))
	if _, err := w.Sandbox.StopRuntimes(); err != nil {
		return nil, err
	}
	var cold []time.Duration
	for _, t := range w.Tenants {
		d, err := timedGet(ctx, w.HTTPClient, healthURL(t))
		if err != nil {
			return nil, err
		}
		cold = append(cold, d)
	}

	mf, mr := median(fake), median(real)
	return []Figure{
		{"edge.tenants", fmt.Sprint(o.EdgeTenants)},
		{fmt.Sprintf("edge.deploy_all_parallel%d.workerd_vs_fake", o.DeployParallel), ratio(mr, mf)},
		{"edge.deploy_all.fake.median", seconds(mf)},
		{"edge.deploy_all.workerd.median", seconds(mr)},
		{"edge.cold_start.median", millis(median(cold))},
		{"edge.cold_start.max", millis(slices.Max(cold))},
		{"edge.steady_request.median", millis(median(steady))},
		{"edge.steady_request.p95", millis(percentile(steady, 0.95))},
		{"edge.running_versions", fmt.Sprint(running)},
		{"edge.rss.supervisor", mib(mem.supervisor)},
		{"edge.rss.per_workerd.median", mib(medianInt(mem.workerd))},
		{"edge.rss.per_running_version", mib(perVersion(mem, running))},
	}, nil
}

func healthURL(t sandboxworld.Tenant) string {
	return "https://" + t.Name + "-api-staging." + t.Subdomain + ".workers.dev/health"
}

func timedGet(ctx context.Context, c *http.Client, url string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	took := time.Since(start)
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return took, nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func millis(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func mib(b int64) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0fMiB", float64(b)/(1<<20))
}

func medianInt(xs []int64) int64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// perVersion spreads the supervisor's memory over the versions it holds: what one more
// running version costs on average, Node included.
func perVersion(m edgeRSS, running int) int64 {
	if running == 0 {
		return 0
	}
	total := m.supervisor
	for _, w := range m.workerd {
		total += w
	}
	return total / int64(running)
}

// edgeRSS is the resident memory of the edge's processes, in bytes.
type edgeRSS struct {
	supervisor int64
	workerd    []int64
}
