package validate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// generateTenants writes n valid tenants shaped like the corpus base tenant "alpha", each with
// its own name, account id, subdomain, port and resource ids, and returns the root.
func generateTenants(tb testing.TB, n int) string {
	tb.Helper()
	root := baseWorkspace(tb)
	cfg, err := os.ReadFile(filepath.Join(root, "tenants", "alpha", tenant.ConfigFile))
	if err != nil {
		tb.Fatal(err)
	}
	wr, err := os.ReadFile(filepath.Join(root, "tenants", "alpha", tenant.WranglerFile))
	if err != nil {
		tb.Fatal(err)
	}
	for _, t := range []string{"alpha", "beta"} {
		if err := os.RemoveAll(filepath.Join(root, "tenants", t)); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range n {
		name := fmt.Sprintf("tenant%03d", i)
		acct := fmt.Sprintf("%032x", i+1)
		r := func(b []byte) []byte {
			b = bytes.ReplaceAll(b, []byte("alpha"), []byte(name))
			b = bytes.ReplaceAll(b, []byte("Alpha"), []byte(name))
			b = bytes.ReplaceAll(b, []byte("0123456789abcdef0123456789abcdef"), []byte(acct))
			b = bytes.ReplaceAll(b, []byte("8801"), fmt.Appendf(nil, "%d", 10000+i))
			return b
		}
		dir := filepath.Join(root, "tenants", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, tenant.ConfigFile), r(cfg), 0o644); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, tenant.WranglerFile), r(wr), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return root
}

// dryRunOnce times one `wrangler deploy --dry-run --outdir` of the repository's first tenant
// (its dev env), the build step every deploy pays.
func dryRunOnce(b *testing.B) time.Duration {
	b.Helper()
	ws := repo(b)
	names, err := tenant.List(ws)
	if err != nil || len(names) == 0 {
		if os.Getenv("CI") == "true" {
			b.Fatalf("no tenant to dry-run: %v", err)
		}
		b.Skipf("no tenant to dry-run: %v", err)
	}
	t, err := tenant.Load(context.Background(), ws, names[0])
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	_, err = wrangler.New(ws, nil).Build(context.Background(), wrangler.Invocation{
		ConfigPath: t.WranglerPath(), AccountID: t.Config.AccountID, ScratchDir: b.TempDir(),
	}, filepath.Join(b.TempDir(), "out"))
	if err != nil {
		b.Fatalf("wrangler deploy --dry-run of %s: %v", t.Name, err)
	}
	return time.Since(start)
}

// BenchmarkValidate500 validates 500 generated tenants per iteration and reports the time of
// one iteration divided by one wrangler dry-run build measured in the same run
// (ratio-vs-dry-run; the goal is below 1).
func BenchmarkValidate500(b *testing.B) {
	root := generateTenants(b, 500)
	v := validatorFor(b, root)
	dry := dryRunOnce(b)
	b.ResetTimer()
	for b.Loop() {
		r, err := v.Run(context.Background(), "all")
		if err != nil {
			b.Fatal(err)
		}
		if !r.OK() || len(r.Tenants) != 500 {
			b.Fatalf("generated tenants: %d tenants, problems: %v", len(r.Tenants), brief(r.Problems))
		}
	}
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(perOp)/float64(dry), "ratio-vs-dry-run")
	b.ReportMetric(dry.Seconds(), "dry-run-s")
}
