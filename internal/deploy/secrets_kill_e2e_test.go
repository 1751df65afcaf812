package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/treecheck"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// TestSecretsPutKilledThroughMage: see secretsPutKilled.
func TestSecretsPutKilledThroughMage(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a magefile and runs wrangler")
	}
	ws, sb, bin := checkedMageRehearsal(t, "mage-secrets")
	const tn = "mrrainbowsmoke"
	// A first deploy, then its required secrets, as an operator does: the Worker is live and
	// annotated, and a deploy of this tree is unchanged.
	if b, err := runMage(ws, bin, "deploy:tenant", tn, "staging"); err != nil {
		t.Fatalf("first deploy: %v\n%s", err, b)
	}
	for _, name := range []string{"AI_GATEWAY_TOKEN", "WEBHOOK_SIGNING_KEY"} {
		cmd := exec.Command(bin, "secrets:put", tn, "staging", name)
		cmd.Dir, cmd.Env, cmd.Stdin = ws.Root, testrepo.MageEnv(), strings.NewReader("first-value-of-"+name)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("secrets:put %s: %v\n%s", name, err, b)
		}
	}
	secretsPutKilled(t, ws, sb, bin, tn)
}

// checkedMageRehearsal is the set-up of the tests that run a compiled magefile against a
// sandbox: a copy of the checkout (code and git), its sandbox, the magefile compiled into it as
// name, and its tree counted as checked, so a deploy goes straight to wrangler (these tests are
// about what a run leaves, not about the checks a deploy depends on).
func checkedMageRehearsal(t *testing.T, name string) (workspace.Workspace, *testworld.Sandbox, string) {
	t.Helper()
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo)
	ws := testrepo.Copy(t, repo, testrepo.Options{Code: true, Git: true})
	sb := testworld.StartSandbox(t, ws)
	bin := testrepo.CompileMage(t, ws, name)
	if err := treecheck.MarkPassed(context.Background(), ws); err != nil {
		t.Fatal(err)
	}
	return ws, sb, bin
}

// runMage runs the compiled magefile bin in ws and returns its combined output.
func runMage(ws workspace.Workspace, bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = ws.Root, testrepo.MageEnv()
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// secretsPutKilled is issue 21's rehearsal through the compiled magefile: secrets:put is
// killed with kill -9 right after the secret is set (its annotation carry-over hangs in the
// sandbox), then the tenant is deployed. The kill leaves a reservation, not silence: the
// deploy records it (interrupted, naming the secret), then ends unchanged or says why it
// uploads. One record each. While secrets:put holds the tenant/env's lock, a deploy is refused.
func secretsPutKilled(t *testing.T, ws workspace.Workspace, sb *testworld.Sandbox, bin, tn string) {
	records := history.Open(sandboxctl.PathsFor(ws).Records)
	before, err := records.List(tn, "staging")
	if err != nil {
		t.Fatal(err)
	}
	sb.Server.ClearFaults()
	// The carry-over's deployment POST hangs: by then the secret is set and its version live.
	sb.Server.AddFault(sandbox.Fault{Method: "POST", Path: "/accounts/*/workers/scripts/*/deployments", Count: 1, Latency: 30 * time.Second})
	t.Cleanup(sb.Server.ClearFaults)

	var out bytes.Buffer
	cmd := exec.Command(bin, "secrets:put", tn, "staging", "AI_GATEWAY_TOKEN")
	cmd.Dir, cmd.Env = ws.Root, testrepo.MageEnv()
	cmd.Stdin = strings.NewReader("a-new-value-never-shown")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	att := history.AttemptPath(records.Dir, tn, "staging")
	deadline := time.Now().Add(time.Minute)
	for {
		var r history.Reservation
		if b, err := os.ReadFile(att); err == nil && json.Unmarshal(b, &r) == nil && strings.HasPrefix(r.Next, "carry the deploy annotation") {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("secrets:put ended (%v) before it carried the annotation over:\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("secrets:put never reached the carry-over:\n%s", out.String())
		}
	}
	// While it holds the lock, a deploy of the same tenant/env is refused, naming it.
	dep := exec.Command(bin, "deploy:tenant", tn, "staging")
	dep.Dir, dep.Env = ws.Root, testrepo.MageEnv()
	if b, err := dep.CombinedOutput(); err == nil || !strings.Contains(string(b), "secrets:put") {
		t.Errorf("a deploy during secrets:put: %v\n%s", err, b)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	sb.Server.ClearFaults()

	dep = exec.Command(bin, "deploy:tenant", tn, "staging", "-json=true")
	dep.Dir, dep.Env = ws.Root, testrepo.MageEnv()
	var stdout, stderr bytes.Buffer
	dep.Stdout, dep.Stderr = &stdout, &stderr
	if err := dep.Run(); err != nil {
		t.Fatalf("the deploy after the killed secrets:put: %v\n%s", err, stderr.String())
	}
	var o struct {
		Record  history.Record `json:"record"`
		Settled string         `json:"settled_record_file"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &o); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	switch o.Record.Status {
	case history.StatusUnchanged:
	case history.StatusSucceeded:
		if !strings.Contains(stderr.String(), "uploading a new version: the live deployment carries no fingerprint") {
			t.Errorf("the deploy uploads without saying why:\n%s", stderr.String())
		}
	default:
		t.Fatalf("deploy ended %s: %s", o.Record.Status, o.Record.Error)
	}
	after, err := records.Entries(tn, "staging")
	if err != nil {
		t.Fatal(err)
	}
	// One record per run: the deploy refused by the lock, the killed secrets:put (written by
	// the next deploy), that deploy.
	if len(after) != len(before)+3 {
		t.Fatalf("%d new records, want 3 (the refused deploy's, the killed secrets:put's, the deploy's)", len(after)-len(before))
	}
	if r := after[2].Record; r.Kind != history.KindDeploy || r.Status != history.StatusFailed || !strings.Contains(r.Error, "secrets:put") {
		t.Errorf("the deploy refused by the lock: %s %s %q", r.Kind, r.Status, r.Error)
	}
	k := after[1].Record
	if k.Kind != history.KindSecrets || k.Status != history.StatusInterrupted || !strings.Contains(k.Error, "killed") ||
		!slices.Contains(k.SecretsChanged, "AI_GATEWAY_TOKEN") || o.Settled == "" {
		t.Fatalf("the killed secrets:put's record: %s %s %q (settled %q)", k.Kind, k.Status, k.Error, o.Settled)
	}
	if _, err := os.Stat(att); !os.IsNotExist(err) {
		t.Errorf("the reservation is still there: %v", err)
	}
	for _, e := range after {
		if b, _ := os.ReadFile(e.Path); bytes.Contains(b, []byte("a-new-value-never-shown")) {
			t.Fatalf("the secret's value is in %s", e.Path)
		}
	}
}
