// Package rollbacktest builds the world the rollback, auth:check and runbook tests run in: a
// temporary copy of the checkout (so nothing is ever written into the repository's
// deployments/), and an in-process sandbox registered as that copy's running sandbox, so that
// every package and every `go tool mage` started in the copy talks to it.
package rollbacktest

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Repo is the checkout the test runs in.
func Repo(tb testing.TB) workspace.Workspace {
	tb.Helper()
	ws, err := workspace.Cwd()
	if err != nil {
		tb.Fatal(err)
	}
	return ws
}

// NeedWrangler installs the node packages when needed. Without wrangler the test is skipped
// on a laptop and fails when CI=true, so CI never passes green without having run it.
func NeedWrangler(tb testing.TB, repo workspace.Workspace) {
	tb.Helper()
	err := npmdeps.Ensure(context.Background(), slog.New(slog.DiscardHandler), repo.Root)
	if err == nil {
		if _, err = os.Stat(repo.NodeBin("wrangler")); err == nil {
			_, err = exec.LookPath("node")
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("wrangler is not available: %v", err)
		}
		tb.Skipf("wrangler is not available: %v", err)
	}
}

// copied are the parts of the checkout a copy needs; Code adds what `go tool mage` needs.
var (
	dataParts = []string{"tenants", "apps/worker-api", "schemas", "package.json", "package-lock.json", "go.mod", "go.sum"}
	codeParts = []string{"magefile.go", "magefiles", "internal", "docs"}
)

// Copy makes a temporary copy of repo with an empty deployments/ and node_modules linked to
// the repository's (wrangler is never installed twice). With code it also copies the Go
// sources, so `go tool mage` runs in the copy. The copy is a git repository with one commit,
// so records carry a git sha and deploy tags can be made.
func Copy(tb testing.TB, repo workspace.Workspace, code bool) workspace.Workspace {
	tb.Helper()
	root := tb.TempDir()
	parts := dataParts
	if code {
		parts = append(append([]string{}, dataParts...), codeParts...)
	}
	for _, p := range parts {
		copyTree(tb, filepath.Join(repo.Root, p), filepath.Join(root, p))
	}
	// The copied lock file must not look newer than the shared install: npmdeps would run
	// `npm ci` through the node_modules link and pull the repository's packages out from
	// under every other running test.
	if st, err := os.Stat(filepath.Join(repo.Root, "package-lock.json")); err == nil {
		if err := os.Chtimes(filepath.Join(root, "package-lock.json"), st.ModTime(), st.ModTime()); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "deployments"), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.Symlink(repo.NodeModules(), filepath.Join(root, "node_modules")); err != nil {
		tb.Fatal(err)
	}
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", root}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Test Operator", "GIT_AUTHOR_EMAIL=oncall@example.com",
			"GIT_COMMITTER_NAME=Test Operator", "GIT_COMMITTER_EMAIL=oncall@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(root, ".gitignore"), []byte("node_modules\n.state/\n.build/\n.wrangler/\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	git("init", "-q")
	git("config", "user.name", "Test Operator")
	git("config", "user.email", "oncall@example.com")
	git("add", "-A")
	git("commit", "-q", "-m", "copy of the checkout for a test")
	return workspace.Workspace{Root: root}
}

func copyTree(tb testing.TB, src, dst string) {
	tb.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", ".wrangler", ".test-build", "testdata":
				if p != src {
					return filepath.SkipDir
				}
			}
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() || strings.HasSuffix(d.Name(), "mage_output_file.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// Sandbox is an in-process sandbox serving one workspace copy.
type Sandbox struct {
	Server *sandbox.Server
	// URL is the server's root (http://127.0.0.1:PORT); the API is below /client/v4.
	URL string
	// Edge is an HTTP client that sends https://*.workers.dev requests to the sandbox's edge.
	Edge *http.Client
}

// APIBaseURL is what wrangler and cfapi are given.
func (s *Sandbox) APIBaseURL() string { return s.URL + "/client/v4" }

// StartSandbox serves a sandbox for ws's tenants for the rest of the test and writes ws's
// .state/sandbox/runtime.json naming it (with this process's pid), so that
// sandboxctl.Resolve, in this process or in a `go tool mage` started in ws, uses it with its
// tokens and its workers.dev edge.
func StartSandbox(tb testing.TB, ws workspace.Workspace) *Sandbox {
	tb.Helper()
	accts, err := sandboxctl.Accounts(ws)
	if err != nil {
		tb.Fatal(err)
	}
	paths := sandboxctl.PathsFor(ws)
	if err := os.MkdirAll(paths.Dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	srv, err := sandbox.New(sandbox.Options{Accounts: accts, StatePath: paths.State})
	if err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	tb.Cleanup(hs.Close)
	rt := sandboxctl.Runtime{PID: os.Getpid(), URL: hs.URL, Root: ws.Root, State: paths.State, RequestLog: paths.RequestLog, Started: time.Now().UTC()}
	b, err := json.Marshal(rt)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(paths.Runtime, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.Remove(paths.Runtime) })
	target, _ := url.Parse(hs.URL)
	edge := &http.Client{Timeout: 10 * time.Second, Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Hostname(), ".workers.dev") {
			r2 := r.Clone(r.Context())
			r2.Host = r.URL.Host
			r2.URL.Scheme, r2.URL.Host = target.Scheme, target.Host
			return http.DefaultTransport.RoundTrip(r2)
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	return &Sandbox{Server: srv, URL: hs.URL, Edge: edge}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
