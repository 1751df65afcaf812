package testworld

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfcontract"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxhost"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// ContractCheck judges every answer the sandbox gives in the test (and every request it
// accepts) by cloudflare-go's types when the test ends (package cfcontract).
func ContractCheck(tb testing.TB) func(sandbox.Exchange) {
	return cfcontract.Observer[sandbox.Exchange](tb)
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
	accts, err := sandboxhost.Accounts(ws)
	if err != nil {
		tb.Fatal(err)
	}
	paths := sandboxctl.PathsFor(ws)
	if err := os.MkdirAll(paths.Dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	srv, err := sandbox.New(sandbox.Options{Accounts: accts, StatePath: paths.State, Observe: ContractCheck(tb)})
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
	edge := &http.Client{Timeout: 10 * time.Second, Transport: sandboxctl.EdgeTransport(hs.URL, http.DefaultTransport)}
	return &Sandbox{Server: srv, URL: hs.URL, Edge: edge}
}
