package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/ci"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
	"github.com/rainbowsmoke/crispy-enigma/internal/rollback/rollbacktest"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/treecheck"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// TestDeploySignalThroughMage sends a real SIGINT (what a terminal's Ctrl-C does) and a real
// SIGTERM (what CI runners send) to a compiled magefile running `deploy:tenant <t> staging`
// while wrangler's upload hangs in the sandbox, and checks what issue 4 promises: a non-zero
// exit, an `interrupted` record, the lock released and no wrangler, esbuild or workerd left.
//
// The magefile is compiled once in a copy of the checkout (its own magefiles/, so no race on
// mage_output_file.go with the real checkout or other tests) and the binary is run directly:
// it is the process that handles the signal; `go tool mage` only adds a compile step.
func TestDeploySignalThroughMage(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a magefile and runs wrangler")
	}
	repo := rollbacktest.Repo(t)
	rollbacktest.NeedWrangler(t, repo)
	ws := rollbacktest.Copy(t, repo, true)
	sb := rollbacktest.StartSandbox(t, ws)

	bin := testrepo.CompileMage(t, ws, "mage-deploy")
	// This test is about signals, not about the checks a deploy depends on: the copy's tree
	// counts as checked, so the deploy goes straight to wrangler.
	if err := treecheck.MarkPassed(context.Background(), ws, ci.FastSteps(ci.Options{Workspace: ws})); err != nil {
		t.Fatal(err)
	}

	goTool := []string{"go", "tool", "mage"}
	for _, c := range []struct {
		name   string
		mage   []string
		sig    syscall.Signal
		tenant string
	}{
		{"SIGINT", []string{bin}, syscall.SIGINT, "mrrainbowsmoke"},
		{"SIGTERM", []string{bin}, syscall.SIGTERM, "rainbowsmokeofficial"},
		// What an operator's terminal does: Ctrl-C reaches go, mage and the compiled magefile
		// at once. go forwards it to mage, which only waits for the magefile, which cancels.
		{"SIGINT to go tool mage", goTool, syscall.SIGINT, "mrrainbowsmoke"},
	} {
		t.Run(c.name, func(t *testing.T) {
			interruptDeploy(t, ws, sb, c.mage, c.tenant, c.sig)
		})
	}
}

// interruptDeploy runs mage (a command line) deploying tenantName to staging, sends sig to its
// process group once the upload hangs, and checks what is left.
func interruptDeploy(t *testing.T, ws workspace.Workspace, sb *rollbacktest.Sandbox, mage []string, tenantName string, sig syscall.Signal) {
	// One upload hangs for longer than the signal takes to land (20 s); Count 1 lets the test see (the
	// fault's count dropping to 0) that the upload has reached the sandbox.
	sb.Server.ClearFaults()
	sb.Server.AddFault(sandbox.Fault{Method: "PUT", Path: "/accounts/*/workers/scripts/*", Count: 1, Latency: 20 * time.Second})
	t.Cleanup(sb.Server.ClearFaults)

	lockFile := lock.Path(filepath.Join(ws.StateDir(), "locks"), tenantName, "staging")
	records := history.Open(sandboxctl.PathsFor(ws).Records)
	before, err := records.List(tenantName, "staging")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(mage[0], append(mage[1:], "deploy:tenant", tenantName, "staging")...)
	cmd.Dir = ws.Root
	cmd.Env = testrepo.MageEnv()
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, like a foreground job in a terminal: the signal goes to the group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	done := make(chan struct{})
	go func() { err := cmd.Wait(); close(done); exited <- err }()
	t.Cleanup(func() {
		// Only when the test gave up before the process ended (its group id is not reused
		// while it runs).
		select {
		case <-done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})

	uploading := func() bool {
		_, err := os.Stat(lockFile)
		return err == nil && len(wranglerProcesses(ws.Root)) > 0 && faultTaken(sb.Server)
	}
	// `go tool mage` compiles the copy's magefile first (10-40 s on a busy machine).
	deadline := time.Now().Add(3 * time.Minute)
	for !uploading() {
		select {
		case err := <-exited:
			t.Fatalf("deploy ended (%v) before its upload reached the sandbox:\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no upload within 3 minutes (lock held, wrangler running, upload hanging):\n%s", out.String())
		}
	}

	signalled := time.Now()
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-exited:
	case <-time.After(time.Minute):
		t.Fatalf("still running a minute after %s:\n%s", sig, out.String())
	}
	took := time.Since(signalled)
	t.Logf("%s: exited after %s (%v)", sig, took.Round(time.Millisecond), err)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("after %s: want a non-zero exit, got %v:\n%s", sig, err, out.String())
	}
	if strings.Contains(out.String(), "cleanup timeout exceeded") {
		t.Fatalf("mage gave up waiting for the target's cleanup (it waits 5 s after Ctrl-C):\n%s", out.String())
	}

	entries, err := records.List(tenantName, "staging")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(before)+1 || entries[0].Record.Status != history.StatusInterrupted {
		var got []string
		for _, e := range entries {
			got = append(got, filepath.Base(e.Path)+": "+string(e.Record.Status))
		}
		t.Fatalf("want one new record, interrupted, got %v (newest first):\n%s", got, out.String())
	}
	if _, err := os.Stat(lockFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lock left behind after %s: %v", sig, err)
	}
	if ps := wranglerProcesses(ws.Root); len(ps) > 0 {
		t.Fatalf("processes left running after %s: %v", sig, ps)
	}
}

// faultTaken reports whether the one-shot upload fault has been used: the upload is hanging.
func faultTaken(s *sandbox.Server) bool {
	for _, f := range s.Faults() {
		if f.Count > 0 {
			return false
		}
	}
	return true
}

// wranglerProcesses lists the wrangler, esbuild and workerd processes that belong to the copy
// at root: their command line or working directory names it.
func wranglerProcesses(root string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmdline := strings.ReplaceAll(string(raw), "\x00", " ")
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if !strings.Contains(cmdline, root) && !strings.HasPrefix(cwd, root) {
			continue
		}
		for _, name := range []string{"wrangler", "esbuild", "workerd"} {
			if strings.Contains(cmdline, name) {
				out = append(out, e.Name()+": "+cmdline)
				break
			}
		}
	}
	return out
}
