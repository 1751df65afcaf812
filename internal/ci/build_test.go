package ci

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// copyWorkspace makes a throwaway copy of the checkout, so a test can break a tenant and
// build into its own .build/.
func copyWorkspace(t *testing.T) (workspace.Workspace, wrangler.Runner) {
	t.Helper()
	real := testrepo.Repo(t)
	testrepo.NeedWrangler(t, real)
	names, err := tenant.List(real)
	if err != nil || len(names) < 2 {
		t.Fatalf("need the two real tenants: %v %v", names, err)
	}
	return testrepo.Copy(t, real, testrepo.Options{}), wrangler.New(real, slog.New(slog.DiscardHandler))
}

func TestBuildTenantsEveryEnv(t *testing.T) {
	ws, wr := copyWorkspace(t)
	var out strings.Builder
	built, err := BuildTenants(context.Background(), ws, wr, "all", &out)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := tenant.List(ws)
	if len(built) != 3*len(names) {
		t.Fatalf("built %d bundles, want 3 per tenant:\n%s", len(built), out.String())
	}
	for _, b := range built {
		want := b.Tenant + "-api"
		if b.Env != tenant.Production {
			want += "-" + string(b.Env)
		}
		if b.Bundle.WorkerName != want {
			t.Errorf("%s/%s built worker %q, want %q", b.Tenant, b.Env, b.Bundle.WorkerName, want)
		}
		if b.Bundle.Dir != ws.BundleDir(b.Tenant, string(b.Env)) {
			t.Errorf("%s/%s built into %s", b.Tenant, b.Env, b.Bundle.Dir)
		}
		if _, err := os.Stat(filepath.Join(b.Bundle.Dir, wrangler.MetadataFile)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(out.String(), "built "+names[0]+"/staging -> .build/"+names[0]+"/staging") {
		t.Errorf("output does not list the builds:\n%s", out.String())
	}
}

// A tenant whose Worker cannot be bundled fails with every one of its environments named,
// and the other tenant's builds still run.
func TestBuildTenantsNamesEveryFailure(t *testing.T) {
	ws, wr := copyWorkspace(t)
	names, _ := tenant.List(ws)
	broken := names[1]
	p := filepath.Join(ws.TenantDir(broken), tenant.WranglerFile)
	b, _ := os.ReadFile(p)
	fixed := strings.Replace(string(b), "apps/worker-api/src/index.ts", "apps/worker-api/src/missing.ts", 1)
	if fixed == string(b) {
		t.Fatalf("%s does not point main at apps/worker-api/src/index.ts", p)
	}
	_ = os.WriteFile(p, []byte(fixed), 0o644)
	var out strings.Builder
	_, err := BuildTenants(context.Background(), ws, wr, "all", &out)
	if err == nil {
		t.Fatal("no error")
	}
	for _, env := range []string{"dev", "staging", "production"} {
		if !strings.Contains(err.Error(), "build "+broken+"/"+env+": ") {
			t.Errorf("error does not name %s/%s: %v", broken, env, err)
		}
	}
	var ce *wrangler.CommandError
	if !errors.As(err, &ce) || !strings.Contains(ce.Error(), "missing.ts") {
		t.Errorf("the wrangler error is not kept: %v", err)
	}
	if !strings.Contains(out.String(), "built "+names[0]+"/dev") {
		t.Errorf("the healthy tenant was not built:\n%s", out.String())
	}
}

func TestBuildTenantsRefusesBadNames(t *testing.T) {
	ws := workspace.Workspace{Root: t.TempDir()}
	_ = os.MkdirAll(filepath.Join(ws.TenantsDir(), "acme"), 0o755)
	for _, target := range []string{"../etc", "nosuch", ""} {
		_, err := BuildTenants(context.Background(), ws, wrangler.Runner{Bin: "/nonexistent"}, target, io.Discard)
		if err == nil {
			t.Errorf("%q accepted", target)
		}
	}
	_, err := BuildTenants(context.Background(), ws, wrangler.Runner{Bin: "/nonexistent"}, "nosuch", io.Discard)
	if err == nil || !strings.Contains(err.Error(), "acme") {
		t.Errorf("unknown tenant error does not list the valid ones: %v", err)
	}
}
