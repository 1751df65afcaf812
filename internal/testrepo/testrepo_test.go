package testrepo

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// fakeRepo is a small checkout with an install that is current, plus the output and
// install folders a copy must leave out.
func fakeRepo(t *testing.T) workspace.Workspace {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"tenants/acme/tenant.config.json":      `{"tenant_id":"acme"}`,
		"tenants/acme/.wrangler/tmp/x.js":      "stale",
		"apps/worker-api/src/index.ts":         "export default {}",
		"apps/worker-api/.test-build/index.js": "built",
		"apps/worker-api/node_modules/x/p.js":  "installed",
		"schemas/tenant.config.schema.json":    "{}",
		"package.json":                         "{}",
		"package-lock.json":                    "{}",
		"go.mod":                               "module example.com/x\n",
		"go.sum":                               "",
		"internal/a/a.go":                      "package a",
		"internal/a/testdata/big.json":         "{}",
		"magefiles/mage_output_file.go":        "package main",
		"magefiles/magefile.go":                "package main",
		"magefile.go":                          "package main",
		"docs/x.md":                            "x",
		"node_modules/.package-lock.json":      "{}",
	}
	for p, c := range files {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(root, "package-lock.json"), old, old); err != nil {
		t.Fatal(err)
	}
	return workspace.Workspace{Root: root}
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

func TestCopyHoldsTheDataAndLinksTheInstall(t *testing.T) {
	repo := fakeRepo(t)
	ws := Copy(t, repo, Options{})
	for _, p := range []string{"tenants/acme/tenant.config.json", "apps/worker-api/src/index.ts",
		"schemas/tenant.config.schema.json", "package.json", "package-lock.json", "go.mod", "go.sum"} {
		if !exists(filepath.Join(ws.Root, p)) {
			t.Errorf("%s was not copied", p)
		}
	}
	for _, p := range []string{"tenants/acme/.wrangler", "apps/worker-api/.test-build", "apps/worker-api/node_modules",
		"internal", "magefiles", ".git", "deployments"} {
		if exists(filepath.Join(ws.Root, p)) {
			t.Errorf("%s was copied", p)
		}
	}
	if dest, err := os.Readlink(ws.NodeModules()); err != nil || dest != repo.NodeModules() {
		t.Errorf("node_modules is not a link to the repository's: %q, %v", dest, err)
	}
	// The point of keeping the lock file's time: the shared install still counts as current.
	if stale, err := npmdeps.Stale(ws.Root); err != nil || stale {
		t.Errorf("the copy's install looks stale (%v, %v): npm ci would run through the link", stale, err)
	}
	if got, err := workspace.Find(filepath.Join(ws.Root, "tenants")); err != nil || got.Root != ws.Root {
		t.Errorf("workspace.Find inside the copy = %v, %v", got.Root, err)
	}
}

func TestCopyWithCodeAndGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo := fakeRepo(t)
	ws := Copy(t, repo, Options{Code: true, Git: true, NoTenants: true})
	if !exists(filepath.Join(ws.Root, "internal/a/a.go")) || !exists(filepath.Join(ws.Root, "magefiles/magefile.go")) {
		t.Error("the Go sources were not copied")
	}
	if !exists(filepath.Join(ws.Root, "deployments")) {
		t.Error("the checkout-like copy has no deployments/")
	}
	for _, p := range []string{"internal/a/testdata", "magefiles/mage_output_file.go", "tenants/acme"} {
		if exists(filepath.Join(ws.Root, p)) {
			t.Errorf("%s was copied", p)
		}
	}
	out, err := exec.Command("git", "-C", ws.Root, "ls-files").Output()
	if err != nil {
		t.Fatal(err)
	}
	files := strings.Fields(string(out))
	if !slices.Contains(files, "internal/a/a.go") || slices.Contains(files, "node_modules") {
		t.Errorf("the commit holds %v", files)
	}
}

func TestWranglerRunInheritsNothing(t *testing.T) {
	t.Setenv("CLOUDFLARE_API_TOKEN", "operator-token")
	t.Setenv("WRANGLER_CI_OVERRIDE_NAME", "renamed")
	offline := NewWranglerRun(t, "", "")
	online := NewWranglerRun(t, "http://127.0.0.1:1/client/v4", "sandbox-token")
	for _, kv := range offline.Env {
		if strings.HasPrefix(kv, "CLOUDFLARE_") || strings.HasPrefix(kv, "WRANGLER_CI_") {
			t.Errorf("offline run gets %s", kv)
		}
	}
	if !slices.Contains(online.Env, "CLOUDFLARE_API_TOKEN=sandbox-token") || slices.Contains(online.Env, "CLOUDFLARE_API_TOKEN=operator-token") {
		t.Errorf("online env %v", online.Env)
	}
	seed, err := os.ReadFile(filepath.Join(offline.Dir, "tmp", "update-check", "wrangler-latest.json"))
	if err != nil || !strings.Contains(string(seed), `"latest":"4.63.0"`) {
		t.Errorf("update check not seeded: %s %v", seed, err)
	}
	if offline.Dir == online.Dir || offline.Output == online.Output {
		t.Error("two runs share a folder")
	}
}
