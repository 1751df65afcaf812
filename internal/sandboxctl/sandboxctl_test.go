package sandboxctl

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

const (
	acctA = "4f1c2b7e9a0d43c8b6e5f70192a3b4c5"
	acctB = "9e8d7c6b5a4f43e2a1b0c9d8e7f6a5b4"
)

// scratch is an empty checkout: Resolve reads only the runtime file under .state/sandbox, and
// serveInProcess serves the two accounts itself (package sandboxhost tests reading them from
// tenants/).
func scratch(t *testing.T) workspace.Workspace {
	t.Helper()
	return workspace.Workspace{Root: t.TempDir()}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// serveInProcess serves an in-process sandbox with ws's two accounts on loopback and writes
// its runtime file, as cf-sandbox does once it listens; cancel stops it and removes the file.
func serveInProcess(t *testing.T, ws workspace.Workspace) (Runtime, context.CancelFunc) {
	t.Helper()
	paths := PathsFor(ws)
	srv, err := sandbox.New(sandbox.Options{
		StatePath: paths.State,
		Accounts:  []sandbox.Account{{ID: acctA, Name: "Alpha", Subdomain: "alpha"}, {ID: acctB, Name: "beta", Subdomain: "beta"}},
		Edge:      sandbox.EdgeOptions{Mode: sandbox.EdgeFake},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	rt := Runtime{PID: os.Getpid(), URL: ts.URL, Root: ws.Root, State: paths.State, RequestLog: paths.RequestLog, Started: time.Now().UTC(), Edge: "fake"}
	data, _ := json.Marshal(rt)
	if err := os.MkdirAll(paths.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(paths.Runtime, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ts.Close()
			os.Remove(paths.Runtime)
			_ = srv.Close()
		})
	}
	t.Cleanup(stop)
	return rt, stop
}

func TestResolvePrecedence(t *testing.T) {
	ws := scratch(t)
	ctx := context.Background()
	t.Setenv(BaseURLEnv, "")

	ep, err := Resolve(ctx, ws, quiet())
	if err != nil || ep.Sandbox || ep.Explicit || ep.APIBaseURL != RealAPIBaseURL || ep.Banner() != "" {
		t.Fatalf("nothing running, nothing set: want real Cloudflare and no banner, got %+v %v", ep, err)
	}
	if _, ok := ep.TokenFor(acctA); ok {
		t.Fatal("real Cloudflare must not hand out tokens")
	}

	rt, stop := serveInProcess(t, ws)
	ep, err = Resolve(ctx, ws, quiet())
	if err != nil || !ep.Sandbox || ep.APIBaseURL != rt.URL+"/client/v4" || strings.HasSuffix(ep.APIBaseURL, "/") {
		t.Fatalf("sandbox running: got %+v %v", ep, err)
	}
	tokA, okA := ep.TokenFor(acctA)
	tokB, okB := ep.TokenFor(acctB)
	if !okA || !okB || tokA == tokB {
		t.Fatalf("want one distinct token per account, got %v %v", okA, okB)
	}
	banner := ep.Banner()
	if !strings.Contains(banner, rt.URL) || !strings.Contains(banner, filepath.Join(".state", "sandbox", "state.json")) ||
		!strings.Contains(banner, "no real account") || strings.Contains(banner, tokA) {
		t.Fatalf("banner: %q", banner)
	}

	// The health client reaches the sandbox's edge for workers.dev hosts, over plain HTTP.
	res, err := ep.HTTPClient.Get("https://nothing-deployed.alpha.workers.dev/health")
	if err != nil {
		t.Fatalf("workers.dev request did not reach the sandbox: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode < 400 || len(body) == 0 {
		t.Fatalf("an undeployed script answered %d %s", res.StatusCode, body)
	}

	t.Setenv(BaseURLEnv, "http://127.0.0.1:1/client/v4/")
	ep, err = Resolve(ctx, ws, quiet())
	if err != nil || ep.Sandbox || !ep.Explicit || ep.APIBaseURL != "http://127.0.0.1:1/client/v4" {
		t.Fatalf("explicit URL must win over the running sandbox: %+v %v", ep, err)
	}
	if _, ok := ep.TokenFor(acctA); ok || !strings.Contains(ep.Banner(), BaseURLEnv) {
		t.Fatalf("explicit URL: no sandbox tokens, banner names the variable: %q", ep.Banner())
	}

	t.Setenv(BaseURLEnv, rt.URL+"/client/v4")
	if ep, err = Resolve(ctx, ws, quiet()); err != nil || !ep.Sandbox {
		t.Fatalf("explicit URL naming our own sandbox keeps sandbox mode: %+v %v", ep, err)
	}

	t.Setenv(BaseURLEnv, "not a url")
	if _, err = Resolve(ctx, ws, quiet()); err == nil || !strings.Contains(err.Error(), BaseURLEnv) {
		t.Fatalf("a malformed explicit URL must be refused naming the variable: %v", err)
	}

	t.Setenv(BaseURLEnv, "")
	stop()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(PathsFor(ws).Runtime); os.IsNotExist(err) {
			break
		}
	}
	if ep, err = Resolve(ctx, ws, quiet()); err != nil || ep.Sandbox {
		t.Fatalf("after the sandbox stopped: %+v %v", ep, err)
	}
}

func TestSandboxEndpointForAnInProcessSandbox(t *testing.T) {
	srv, err := sandbox.New(sandbox.Options{Accounts: []sandbox.Account{{ID: acctA, Subdomain: "alpha"}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	ep := SandboxEndpoint(ts.URL+"/", "", srv.Tokens())
	if ep.APIBaseURL != ts.URL+"/client/v4" || !ep.Sandbox {
		t.Fatalf("endpoint: %+v", ep)
	}
	if tok, ok := ep.TokenFor(acctA); !ok || tok != srv.Token(acctA) {
		t.Fatal("token not carried")
	}
	if _, ok := ep.TokenFor(acctB); ok {
		t.Fatal("a token for an account the sandbox does not know")
	}
	res, err := ep.HTTPClient.Get("https://w.alpha.workers.dev/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode < 400 {
		t.Fatalf("undeployed script answered %d", res.StatusCode)
	}
}
