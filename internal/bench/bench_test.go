package bench

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
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

func repo(b *testing.B) workspace.Workspace {
	ws, err := workspace.Cwd()
	if err != nil {
		b.Fatal(err)
	}
	testrepo.NeedWrangler(b, ws)
	return ws
}

func metric(b *testing.B, figs []Figure, name, unit string) {
	for _, f := range figs {
		if f.Name == name {
			v, err := strconv.ParseFloat(strings.TrimSuffix(strings.Fields(f.Value)[0], "s"), 64)
			if err == nil {
				b.ReportMetric(v, unit)
			}
			return
		}
	}
	b.Fatalf("no figure %s in %v", name, figs)
}

// BenchmarkDriftAll is a smaller `mage bench` drift figure (30 tenants); run it with
// -benchtime=1x: each iteration builds a world and measures both variants side by side.
func BenchmarkDriftAll(b *testing.B) {
	ws := repo(b)
	for b.Loop() {
		figs, err := DriftAll(context.Background(), ws, Options{DriftTenants: 30, DriftRounds: 1, Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		metric(b, figs, "drift_all.parallel16_vs_sequential", "ratio")
		metric(b, figs, "drift.api_requests_per_tenant", "requests/tenant")
		metric(b, figs, "drift_all.sequential.median", "s-sequential")
		metric(b, figs, "drift_all.parallel16.median", "s-parallel")
	}
}

// BenchmarkDeployAll is a smaller `mage bench` deploy:all figure (6 tenants, -parallel=3);
// it runs wrangler 18 times per iteration: use -benchtime=1x.
func BenchmarkDeployAll(b *testing.B) {
	ws := repo(b)
	for b.Loop() {
		figs, err := DeployAll(context.Background(), ws, Options{DeployTenants: 6, DeployParallel: 3, Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		metric(b, figs, "deploy_all.parallel3_vs_sequential", "ratio")
		metric(b, figs, "deploy_all.sequential.median", "s-sequential")
		metric(b, figs, "deploy_all.parallel3.median", "s-parallel")
	}
}

// BenchmarkFleetStatus is a smaller `mage bench -only=status` (30 tenants); use -benchtime=1x.
func BenchmarkFleetStatus(b *testing.B) {
	ws := repo(b)
	for b.Loop() {
		figs, err := FleetStatus(context.Background(), ws, Options{DriftTenants: 30, DriftRounds: 1, Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		metric(b, figs, "fleet_status.parallel16_vs_sequential", "ratio")
	}
}

// BenchmarkEdge is a smaller `mage bench -only=edge` (4 tenants); run it with -benchtime=1x.
func BenchmarkEdge(b *testing.B) {
	ws := repo(b)
	for b.Loop() {
		figs, err := Edge(context.Background(), ws, Options{EdgeTenants: 4, EdgeRequests: 50, Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		metric(b, figs, "edge.deploy_all_parallel4.workerd_vs_fake", "workerd/fake")
		for _, f := range figs {
			b.Log(f.Name, ": ", f.Value)
		}
	}
}

// BenchmarkPreflightAll is a smaller `mage bench` preflight figure (30 tenants); run it with
// -benchtime=1x: each iteration builds a world and measures both variants side by side.
func BenchmarkPreflightAll(b *testing.B) {
	ws := repo(b)
	for b.Loop() {
		figs, err := PreflightAll(context.Background(), ws, Options{PreflightTenants: 30, PreflightRounds: 1, Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		metric(b, figs, "preflight_all.parallel16_vs_sequential", "ratio")
		metric(b, figs, "preflight.api_requests_per_tenant", "requests/tenant")
	}
}
