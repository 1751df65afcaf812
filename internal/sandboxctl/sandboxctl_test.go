package sandboxctl

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

const (
	acctA = "4f1c2b7e9a0d43c8b6e5f70192a3b4c5"
	acctB = "9e8d7c6b5a4f43e2a1b0c9d8e7f6a5b4"
)

// scratch makes a checkout with two tenants in two accounts and a third sharing acctA.
func scratch(t *testing.T) workspace.Workspace {
	t.Helper()
	root := t.TempDir()
	write := func(p, s string) {
		p = filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module scratch\n")
	write("package.json", "{}\n")
	write("tenants/alpha/tenant.config.json", `{"account_id":"`+acctA+`","workers_dev_subdomain":"alpha","display_name":"Alpha"}`)
	write("tenants/beta/tenant.config.json", `{"account_id":"`+acctB+`","workers_dev_subdomain":"beta"}`)
	write("tenants/gamma/tenant.config.json", `{"account_id":"`+acctA+`","workers_dev_subdomain":"alpha"}`)
	return workspace.Workspace{Root: root}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestAccountsOnePerDistinctAccount(t *testing.T) {
	accs, err := Accounts(scratch(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(accs) != 2 || accs[0].ID != acctA || accs[0].Name != "Alpha" || accs[1].ID != acctB || accs[1].Name != "beta" || accs[1].Subdomain != "beta" {
		t.Fatalf("accounts: %+v", accs)
	}
}

func TestAccountsNameTheBrokenFile(t *testing.T) {
	ws := scratch(t)
	bad := filepath.Join(ws.Root, "tenants", "beta", "tenant.config.json")
	os.WriteFile(bad, []byte(`{"account_id":`), 0o644)
	_, err := Accounts(ws)
	if err == nil || !strings.Contains(err.Error(), filepath.Join("tenants", "beta", "tenant.config.json")) {
		t.Fatalf("want an error naming the file, got %v", err)
	}
}

// serveInProcess runs the sandbox of ws in this test process and waits until it listens.
func serveInProcess(t *testing.T, ws workspace.Workspace) (Runtime, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ws, quiet(), ServeOptions{Addr: "127.0.0.1:0", Edge: sandbox.EdgeFake}) }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rt, ok, _ := readRuntime(PathsFor(ws).Runtime); ok {
			return rt, cancel
		}
	}
	t.Fatal("sandbox did not write its runtime file")
	return Runtime{}, cancel
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

func TestServeRefusesNonLoopback(t *testing.T) {
	err := Serve(context.Background(), scratch(t), quiet(), ServeOptions{Addr: "0.0.0.0:0"})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("want a loopback refusal, got %v", err)
	}
}

// buildSandbox compiles cmd/cf-sandbox once for the end-to-end test.
func buildSandbox(t *testing.T) string {
	t.Helper()
	repo, err := workspace.Cwd()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "cf-sandbox")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/cf-sandbox")
	cmd.Dir = repo.Root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/cf-sandbox: %v\n%s", err, out)
	}
	return bin
}

// Start, status, reset and stop with a real detached process on loopback.
func TestStartStatusStopEndToEnd(t *testing.T) {
	ws := scratch(t)
	ctx := context.Background()
	bin := buildSandbox(t)
	opts := StartOptions{Binary: bin, Wait: 20 * time.Second, Edge: sandbox.EdgeFake}

	// Two starts at once: one process, one winner.
	type result struct {
		st      Status
		started bool
		err     error
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			st, started, err := Start(ctx, ws, quiet(), opts)
			results <- result{st, started, err}
		}()
	}
	r1, r2 := <-results, <-results
	t.Cleanup(func() { Stop(context.Background(), ws, quiet()) })
	if r1.err != nil || r2.err != nil {
		t.Fatal(r1.err, r2.err)
	}
	if r1.started == r2.started || r1.st.PID != r2.st.PID {
		t.Fatalf("concurrent starts: want exactly one to start and both to report one pid: %+v / %+v", r1, r2)
	}
	st, started := r1.st, true
	if !started || !st.Running || st.PID == os.Getpid() || !alive(st.PID) || !strings.HasPrefix(st.URL, "http://127.0.0.1:") {
		t.Fatalf("start: %+v started=%v", st, started)
	}
	if st.APIBaseURL != st.URL+"/client/v4" || st.State != PathsFor(ws).State || len(st.Detail) == 0 {
		t.Fatalf("start status: %+v", st)
	}
	if _, err := os.Stat(st.State); err != nil {
		t.Fatalf("state file not written: %v", err)
	}

	again, started, err := Start(ctx, ws, quiet(), opts)
	if err != nil || started || again.PID != st.PID {
		t.Fatalf("a second start must reuse the running sandbox: %+v started=%v %v", again, started, err)
	}

	ep, err := Resolve(ctx, ws, quiet())
	if err != nil || !ep.Sandbox || ep.APIBaseURL != st.APIBaseURL {
		t.Fatalf("resolve while running: %+v %v", ep, err)
	}
	if err := Reset(ctx, ws); err != nil {
		t.Fatal(err)
	}
	if ep2, _ := Resolve(ctx, ws, quiet()); func() bool { a, _ := ep.TokenFor(acctA); b, _ := ep2.TokenFor(acctA); return a != b }() {
		t.Fatal("reset must keep the tokens")
	}

	was, err := Stop(ctx, ws, quiet())
	if err != nil || !was {
		t.Fatalf("stop: %v %v", was, err)
	}
	if alive(st.PID) && !isZombie(st.PID) {
		t.Fatalf("pid %d still alive after stop", st.PID)
	}
	after, err := GetStatus(ctx, ws)
	if err != nil || after.Running {
		t.Fatalf("status after stop: %+v %v", after, err)
	}
	if was, err := Stop(ctx, ws, quiet()); err != nil || was {
		t.Fatalf("stopping a stopped sandbox: %v %v", was, err)
	}
	if _, err := os.Stat(st.State); err != nil {
		t.Fatalf("stop must keep the state file: %v", err)
	}
}

func TestStartFailsWithoutTenants(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644)
	os.WriteFile(filepath.Join(root, "package.json"), []byte("{}"), 0o644)
	_, _, err := Start(context.Background(), workspace.Workspace{Root: root}, quiet(), StartOptions{Binary: "/nonexistent"})
	if err == nil || !strings.Contains(err.Error(), "tenant") {
		t.Fatalf("want a no-tenants error before anything starts, got %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, ".state", "sandbox", "runtime.json")); !os.IsNotExist(err) {
		t.Fatal("a failed start left a runtime file")
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
