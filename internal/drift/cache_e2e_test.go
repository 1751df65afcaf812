package drift_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/drift"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
)

// wranglerRuns counts the Runner's one debug line per wrangler run.
type wranglerRuns struct{ n atomic.Int64 }

func (c *wranglerRuns) Enabled(context.Context, slog.Level) bool { return true }
func (c *wranglerRuns) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "wrangler run" {
		c.n.Add(1)
	}
	return nil
}
func (c *wranglerRuns) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *wranglerRuns) WithGroup(string) slog.Handler      { return c }

// TestDriftReusesItsBuildWhileTheTreeIsUnchanged: the first drift of a tree builds every
// tenant with wrangler; a second over the same tree starts no wrangler at all; a change to the
// Worker's code builds again.
func TestDriftReusesItsBuildWhileTheTreeIsUnchanged(t *testing.T) {
	if testing.Short() {
		t.Skip("runs wrangler")
	}
	w := testworld.NewWithWrangler(t, testworld.Options{})
	t.Setenv("NO_COLOR", "1")
	runs := &wranglerRuns{}
	sources := w.DriftSources(slog.New(runs))
	tenants := int64(len(w.Names()))

	first := runDrift(t, w, "all", false, sources)
	if got := runs.n.Load(); got != tenants {
		t.Fatalf("first drift: %d wrangler runs, want one build per tenant (%d)", got, tenants)
	}
	second := runDrift(t, w, "all", false, sources)
	if got := runs.n.Load() - tenants; got != 0 {
		t.Fatalf("second drift of an unchanged tree: %d wrangler runs, want none", got)
	}
	for i := range first.reports {
		if first.reports[i].Status != drift.Missing || second.reports[i].Status != first.reports[i].Status {
			t.Errorf("%s: first %s, second %s; want missing both times", first.reports[i].Tenant, first.reports[i].Status, second.reports[i].Status)
		}
	}

	if err := w.ChangeCode("cachetest"); err != nil {
		t.Fatal(err)
	}
	runDrift(t, w, "all", false, sources)
	if got := runs.n.Load() - tenants; got != tenants {
		t.Fatalf("drift after a code change: %d wrangler runs, want one build per tenant (%d)", got, tenants)
	}
}

// BenchmarkPrepare is one tenant's Prepare (tenant files, inputs hash, bundle, API client) with
// the bundle cached from an earlier run, beside the same with the cache emptied first, which
// pays a wrangler dry-run build: the saving a drift of an unchanged tree gets per tenant.
func BenchmarkPrepare(b *testing.B) {
	w := testworld.NewWithWrangler(b, testworld.Options{})
	sources := w.DriftSources(nil)
	ctx := context.Background()
	if _, err := sources.Prepare(ctx, tn, "staging"); err != nil {
		b.Fatal(err)
	}
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if _, err := sources.Prepare(ctx, tn, "staging"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("built", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			if err := os.RemoveAll(filepath.Join(w.WS.StateDir(), "drift", tn)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := sources.Prepare(ctx, tn, "staging"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
