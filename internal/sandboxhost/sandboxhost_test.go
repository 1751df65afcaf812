package sandboxhost

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
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
		st      sandboxctl.Status
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
	t.Cleanup(func() { sandboxctl.Stop(context.Background(), ws, quiet()) })
	if r1.err != nil || r2.err != nil {
		t.Fatal(r1.err, r2.err)
	}
	if r1.started == r2.started || r1.st.PID != r2.st.PID {
		t.Fatalf("concurrent starts: want exactly one to start and both to report one pid: %+v / %+v", r1, r2)
	}
	st, started := r1.st, true
	if !started || !st.Running || st.PID == os.Getpid() || !sandboxctl.Running(st.PID) || !strings.HasPrefix(st.URL, "http://127.0.0.1:") {
		t.Fatalf("start: %+v started=%v", st, started)
	}
	if st.APIBaseURL != st.URL+"/client/v4" || st.State != sandboxctl.PathsFor(ws).State || len(st.Detail) == 0 {
		t.Fatalf("start status: %+v", st)
	}
	if _, err := os.Stat(st.State); err != nil {
		t.Fatalf("state file not written: %v", err)
	}

	again, started, err := Start(ctx, ws, quiet(), opts)
	if err != nil || started || again.PID != st.PID {
		t.Fatalf("a second start must reuse the running sandbox: %+v started=%v %v", again, started, err)
	}

	ep, err := sandboxctl.Resolve(ctx, ws, quiet())
	if err != nil || !ep.Sandbox || ep.APIBaseURL != st.APIBaseURL {
		t.Fatalf("resolve while running: %+v %v", ep, err)
	}
	if err := Reset(ctx, ws); err != nil {
		t.Fatal(err)
	}
	if ep2, _ := sandboxctl.Resolve(ctx, ws, quiet()); func() bool { a, _ := ep.TokenFor(acctA); b, _ := ep2.TokenFor(acctA); return a != b }() {
		t.Fatal("reset must keep the tokens")
	}

	was, err := sandboxctl.Stop(ctx, ws, quiet())
	if err != nil || !was {
		t.Fatalf("stop: %v %v", was, err)
	}
	if sandboxctl.Running(st.PID) {
		t.Fatalf("pid %d still alive after stop", st.PID)
	}
	after, err := sandboxctl.GetStatus(ctx, ws)
	if err != nil || after.Running {
		t.Fatalf("status after stop: %+v %v", after, err)
	}
	if was, err := sandboxctl.Stop(ctx, ws, quiet()); err != nil || was {
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
