package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

func TestBuildCacheReusesOnlyIdenticalInputs(t *testing.T) {
	root := t.TempDir()
	ws := workspace.Workspace{Root: root}
	write := func(p, s string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(ws.WorkerDir(), "src", "index.ts"), "export default {}")
	write(filepath.Join(ws.WorkerDir(), "test", "x.test.js"), "ignored")
	write(filepath.Join(ws.TenantDir("acme"), "wrangler.jsonc"), "{}")
	st := &State{Opts: Options{Workspace: ws}, Tenant: &tenant.Tenant{Name: "acme", Dir: ws.TenantDir("acme")}, Resolved: tenant.ResolvedEnv{WranglerEnv: "staging"}}

	dir := filepath.Join(ws.BuildDir(), "acme", "staging")
	write(filepath.Join(dir, "index.js"), "bundled")
	sum := sha256.Sum256([]byte("bundled"))
	b := wrangler.Bundle{Dir: dir, WorkerName: "acme-api-staging", MainModule: filepath.Join(dir, "index.js"), SHA256: hex.EncodeToString(sum[:]), Metadata: []byte(`{"main_module":"index.js"}`)}
	h1, err := st.inputsHash()
	if err != nil {
		t.Fatal(err)
	}
	stampBundle(b, h1)
	got, ok := cachedBundle(dir, h1)
	if !ok || got.SHA256 != b.SHA256 || got.WorkerName != b.WorkerName || string(got.Metadata) != string(b.Metadata) {
		t.Fatalf("same inputs not reused: %v %+v", ok, got)
	}
	// Tests of the Worker are not build inputs.
	write(filepath.Join(ws.WorkerDir(), "test", "x.test.js"), "changed")
	if h, _ := st.inputsHash(); h != h1 {
		t.Fatal("a test file changed the inputs hash")
	}
	// A source change, a tenant change or another env each change the hash.
	write(filepath.Join(ws.WorkerDir(), "src", "index.ts"), "export default { x: 1 }")
	h2, _ := st.inputsHash()
	write(filepath.Join(ws.TenantDir("acme"), "wrangler.jsonc"), `{"name":"x"}`)
	h3, _ := st.inputsHash()
	st.Resolved.WranglerEnv = "production"
	h4, _ := st.inputsHash()
	for i, h := range []string{h2, h3, h4} {
		if h == h1 || (i > 0 && h == []string{h2, h3, h4}[i-1]) {
			t.Fatalf("input change %d did not change the hash", i)
		}
		if _, ok := cachedBundle(dir, h); ok {
			t.Fatalf("stale bundle reused after change %d", i)
		}
	}
	// A bundle edited after the build is not trusted.
	write(filepath.Join(dir, "index.js"), "tampered")
	if _, ok := cachedBundle(dir, h1); ok {
		t.Fatal("a modified bundle was reused")
	}
}

func TestPruneRunsKeepsTheNewestOfOneTenantEnv(t *testing.T) {
	dir := t.TempDir()
	names := []string{
		"acme-staging-20261128T100000.000000000Z", "acme-staging-20261128T110000.000000000Z",
		"acme-staging-20261128T120000.000000000Z", "acme-staging-eu-staging-20261128T090000.000000000Z",
		"acme-production-20261128T080000.000000000Z",
	}
	for _, n := range names {
		os.MkdirAll(filepath.Join(dir, n), 0o755)
	}
	pruneRuns(dir, "acme-staging-", 2)
	for i, n := range names {
		_, err := os.Stat(filepath.Join(dir, n))
		if gone := os.IsNotExist(err); gone != (i == 0) {
			t.Errorf("%s: gone=%v", n, gone)
		}
	}
}

// tenant.config.json is ours, never wrangler's: editing it must neither rebuild nor, through
// the inputs hash, make a deploy upload the same code again. A file of that name elsewhere
// (the Worker's folder, a sub-folder of the tenant) still counts.
func TestInputsHashLeavesOutTheTenantConfig(t *testing.T) {
	root := t.TempDir()
	ws := workspace.Workspace{Root: root}
	write := func(p, s string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(ws.WorkerDir(), "src", "index.ts"), "export default {}")
	write(filepath.Join(ws.TenantDir("acme"), "wrangler.jsonc"), "{}")
	write(filepath.Join(ws.TenantDir("acme"), "tenant.config.json"), `{"display_name":"Acme"}`)
	st := &State{Opts: Options{Workspace: ws}, Tenant: &tenant.Tenant{Name: "acme", Dir: ws.TenantDir("acme")}, Resolved: tenant.ResolvedEnv{WranglerEnv: "staging"}}
	h1, err := st.inputsHash()
	if err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(ws.TenantDir("acme"), "tenant.config.json"), `{"display_name":"Acme Corp"}`)
	if h, _ := st.inputsHash(); h != h1 {
		t.Fatal("editing tenant.config.json changed the inputs hash")
	}
	write(filepath.Join(ws.TenantDir("acme"), "sub", "tenant.config.json"), `{}`)
	h2, _ := st.inputsHash()
	write(filepath.Join(ws.WorkerDir(), "tenant.config.json"), `{}`)
	h3, _ := st.inputsHash()
	if h2 == h1 || h3 == h2 {
		t.Fatal("a tenant.config.json outside the tenant folder's top level was left out")
	}
}
