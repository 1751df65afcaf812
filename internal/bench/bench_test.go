package bench

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// The flags `mage bench` passes (go test … -args -rounds=N -figures=FILE); `go test -bench`
// alone runs the figures of `mage bench` and reports their ratios as metrics.
var (
	rounds  = flag.Int("rounds", 0, "repeat each variant N times (0: each benchmark's default)")
	figures = flag.String("figures", "", "append each figure as a `name: value` line to this file")
	small   = flag.Bool("small", false, "smaller worlds (30 tenants, 6 deploys, 4 edge tenants, one round) for a quick look")
)

func TestMedian(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0}, {[]time.Duration{3 * ms}, 3 * ms}, {[]time.Duration{9 * ms, 1 * ms, 5 * ms}, 5 * ms}, {[]time.Duration{4 * ms, 1 * ms, 2 * ms, 8 * ms}, 3 * ms},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if ratio(time.Second, 0) != "n/a" || ratio(time.Second, 4*time.Second) != "0.250" {
		t.Error("ratio")
	}
}

func TestRatioMetrics(t *testing.T) {
	got := map[string]float64{}
	ratioMetrics([]Figure{
		{"drift_all.parallel16_vs_sequential", "0.091 (goal <= 0.15)"},
		{"drift.api_requests_per_tenant", "6.0 (goal <= 8)"},
		{"drift_all.sequential.median", "12.30s"},
		{"report_html.chromium_load_vs_1_tenant", "n/a"},
	}, func(v float64, unit string) { got[unit] = v })
	want := map[string]float64{"drift_all.parallel16_vs_sequential": 0.091, "drift.api_requests_per_tenant": 6}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("metrics %v, want %v", got, want)
	}
}

// run measures one figure set once (each iteration builds its world and measures both
// variants side by side: use -benchtime=1x), reports its ratios as metrics and writes every
// figure to -figures.
func run(b *testing.B, measure func(ctx context.Context, ws workspace.Workspace, o Options) ([]Figure, error), o Options) {
	ws, err := workspace.Cwd()
	if err != nil {
		b.Fatal(err)
	}
	testrepo.NeedWrangler(b, ws)
	n := *rounds
	if *small && n == 0 {
		n = 1
	}
	o.DeployRounds, o.DriftRounds, o.ReportRounds, o.PreflightRounds = n, n, n, n
	o.Dir = b.TempDir()
	o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	o.Progress = os.Stderr
	for b.Loop() {
		figs, err := measure(context.Background(), ws, o)
		if werr := write(figs); werr != nil && err == nil {
			err = werr
		}
		if err != nil {
			b.Fatal(err)
		}
		ratioMetrics(figs, b.ReportMetric)
	}
}

// ratioMetrics reports each ratio and per-tenant request count by its figure's name.
func ratioMetrics(figs []Figure, report func(float64, string)) {
	for _, f := range figs {
		if !strings.Contains(f.Name, "_vs_") && !strings.HasSuffix(f.Name, "requests_per_tenant") {
			continue
		}
		if v, err := strconv.ParseFloat(strings.Fields(f.Value + " ")[0], 64); err == nil {
			report(v, f.Name)
		}
	}
}

// write appends the figures, one `name: value` line each, to -figures (nothing without it).
func write(figs []Figure) error {
	if *figures == "" || len(figs) == 0 {
		return nil
	}
	f, err := os.OpenFile(*figures, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	var sb strings.Builder
	for _, fig := range figs {
		fmt.Fprintf(&sb, "%s: %s\n", fig.Name, fig.Value)
	}
	if _, err := f.WriteString(sb.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// The benchmarks, in the order `mage bench` prints them; each is named for its -only value.

// BenchmarkDrift: `drift all staging`, 100 tenants, 100 ms per API request, 16 at once vs
// one at a time, and the API requests per tenant.
func BenchmarkDrift(b *testing.B) {
	o := Options{}
	if *small {
		o.DriftTenants = 30
	}
	run(b, DriftAll, o)
}

// BenchmarkPreflight: `preflight all staging`, 100 tenants, 100 ms, concurrent vs sequential,
// and its API requests per tenant.
func BenchmarkPreflight(b *testing.B) {
	o := Options{}
	if *small {
		o.PreflightTenants = 30
	}
	run(b, PreflightAll, o)
}

// BenchmarkStatus: `fleet:status staging`, 100 tenants, 100 ms, concurrent vs sequential.
func BenchmarkStatus(b *testing.B) {
	o := Options{}
	if *small {
		o.DriftTenants = 30
	}
	run(b, FleetStatus, o)
}

// BenchmarkReport: report:html of 500 synthetic tenants, its size and headless Chromium's
// load time (needs Chromium).
func BenchmarkReport(b *testing.B) {
	run(b, func(ctx context.Context, _ workspace.Workspace, o Options) ([]Figure, error) { return Report(ctx, o) }, Options{})
}

// BenchmarkDeploy: deploy:all of 20 tenants, 150 ms per API request, -parallel=4 vs
// sequential; wrangler runs over a hundred times.
func BenchmarkDeploy(b *testing.B) {
	o := Options{}
	if *small {
		o.DeployTenants, o.DeployParallel = 6, 3
	}
	run(b, DeployAll, o)
}

// BenchmarkEdge: deploy:all of 20 tenants with the workerd edge vs the fake one, then a
// version's cold start, steady request latency and resident memory per running version.
func BenchmarkEdge(b *testing.B) {
	o := Options{}
	if *small {
		o.EdgeTenants, o.EdgeRequests = 4, 50
	}
	run(b, Edge, o)
}
