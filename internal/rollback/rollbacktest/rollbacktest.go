// Package rollbacktest builds the world the rollback, auth:check and runbook tests run in: a
// temporary copy of the checkout (so nothing is ever written into the repository's
// deployments/), and an in-process sandbox registered as that copy's running sandbox, so that
// every package and every `go tool mage` started in the copy talks to it.
package rollbacktest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Repo is the checkout the test runs in.
func Repo(tb testing.TB) workspace.Workspace {
	tb.Helper()
	return testrepo.Repo(tb)
}

// NeedWrangler installs the node packages when needed. Without wrangler the test is skipped
// on a laptop and fails when CI=true, so CI never passes green without having run it.
func NeedWrangler(tb testing.TB, repo workspace.Workspace) {
	tb.Helper()
	testrepo.NeedWrangler(tb, repo)
}

// Copy makes a temporary copy of repo with an empty deployments/ and node_modules linked to
// the repository's. With code it also copies the Go sources, so `go tool mage` runs in the
// copy. The copy is a git repository with one commit, so records carry a git sha and deploy
// tags can be made.
func Copy(tb testing.TB, repo workspace.Workspace, code bool) workspace.Workspace {
	tb.Helper()
	return testrepo.Copy(tb, repo, testrepo.Options{Code: code, Git: true})
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
