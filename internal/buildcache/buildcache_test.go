package buildcache

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

func TestLookupReusesOnlyIdenticalInputs(t *testing.T) {
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
	env := "staging"
	hash := func() (string, error) { return InputsHash(ws, ws.TenantDir("acme"), env) }

	dir := filepath.Join(ws.BuildDir(), "acme", "staging")
	write(filepath.Join(dir, "index.js"), "bundled")
	sum := sha256.Sum256([]byte("bundled"))
	b := wrangler.Bundle{Dir: dir, WorkerName: "acme-api-staging", MainModule: filepath.Join(dir, "index.js"), SHA256: hex.EncodeToString(sum[:]), Metadata: []byte(`{"main_module":"index.js"}`)}
	h1, err := hash()
	if err != nil {
		t.Fatal(err)
	}
	Stamp(b, h1)
	got, ok := Lookup(dir, h1)
	if !ok || got.SHA256 != b.SHA256 || got.WorkerName != b.WorkerName || string(got.Metadata) != string(b.Metadata) {
		t.Fatalf("same inputs not reused: %v %+v", ok, got)
	}
	// Tests of the Worker are not build inputs.
	write(filepath.Join(ws.WorkerDir(), "test", "x.test.js"), "changed")
	if h, _ := hash(); h != h1 {
		t.Fatal("a test file changed the inputs hash")
	}
	// A source change, a tenant change or another env each change the hash.
	write(filepath.Join(ws.WorkerDir(), "src", "index.ts"), "export default { x: 1 }")
	h2, _ := hash()
	write(filepath.Join(ws.TenantDir("acme"), "wrangler.jsonc"), `{"name":"x"}`)
	h3, _ := hash()
	env = "production"
	h4, _ := hash()
	for i, h := range []string{h2, h3, h4} {
		if h == h1 || (i > 0 && h == []string{h2, h3, h4}[i-1]) {
			t.Fatalf("input change %d did not change the hash", i)
		}
		if _, ok := Lookup(dir, h); ok {
			t.Fatalf("stale bundle reused after change %d", i)
		}
	}
	// A bundle edited after the build is not trusted.
	write(filepath.Join(dir, "index.js"), "tampered")
	if _, ok := Lookup(dir, h1); ok {
		t.Fatal("a modified bundle was reused")
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
	env := "staging"
	hash := func() (string, error) { return InputsHash(ws, ws.TenantDir("acme"), env) }
	h1, err := hash()
	if err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(ws.TenantDir("acme"), "tenant.config.json"), `{"display_name":"Acme Corp"}`)
	if h, _ := hash(); h != h1 {
		t.Fatal("editing tenant.config.json changed the inputs hash")
	}
	write(filepath.Join(ws.TenantDir("acme"), "sub", "tenant.config.json"), `{}`)
	h2, _ := hash()
	write(filepath.Join(ws.WorkerDir(), "tenant.config.json"), `{}`)
	h3, _ := hash()
	if h2 == h1 || h3 == h2 {
		t.Fatal("a tenant.config.json outside the tenant folder's top level was left out")
	}
}

// A build about to write into the folder removes the stamp first, so a build that fails
// half-way leaves nothing that Lookup would trust.
func TestInvalidateDropsTheStamp(t *testing.T) {
	ws := workspace.Workspace{Root: t.TempDir()}
	dir := ws.BundleDir("acme", "staging")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte("bundled"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("bundled"))
	Stamp(wrangler.Bundle{Dir: dir, WorkerName: "acme-api-staging", MainModule: filepath.Join(dir, "index.js"), SHA256: hex.EncodeToString(sum[:]), Metadata: []byte(`{}`)}, "inputs")
	if _, ok := Lookup(dir, "inputs"); !ok {
		t.Fatal("fresh stamp not found")
	}
	Invalidate(dir)
	if _, ok := Lookup(dir, "inputs"); ok {
		t.Fatal("bundle still reused after Invalidate")
	}
}
