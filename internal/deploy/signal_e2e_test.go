package deploy_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
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
	ws, sb, bin := checkedMageRehearsal(t, "mage-deploy")

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
	t.Run("SIGKILL", func(t *testing.T) { killDeploy(t, ws, sb, bin, "rainbowsmokeofficial") })
	t.Run("simultaneous", func(t *testing.T) { simultaneousDeploys(t, ws, sb, bin, "mrrainbowsmoke") })
	t.Run("rollout interrupted, status, abort", func(t *testing.T) { rolloutInterrupted(t, ws, sb, bin, "mrrainbowsmoke", syscall.SIGINT) })
	t.Run("rollout killed, status, abort", func(t *testing.T) { rolloutInterrupted(t, ws, sb, bin, "rainbowsmokeofficial", syscall.SIGKILL) })
}

// simultaneousDeploys starts two deploys of one tenant/env at the same instant from one
// compiled magefile (the documented way to run several targets at once in one checkout; two
// `go tool mage` compiling at once race on magefiles/mage_output_file.go, upstream mage issue
// 247): one deploys, the other is refused at once naming the holder.
func simultaneousDeploys(t *testing.T, ws workspace.Workspace, sb *testworld.Sandbox, bin, tenantName string) {
	sb.Server.ClearFaults()
	// The upload takes a while, so the loser meets the lock however slow its start.
	sb.Server.AddFault(sandbox.Fault{Method: "PUT", Path: "/accounts/*/workers/scripts/*", Count: 1, Latency: 6 * time.Second})
	t.Cleanup(sb.Server.ClearFaults)
	type result struct {
		out string
		err error
	}
	results := make(chan result, 2)
	for range 2 {
		cmd := exec.Command(bin, "deploy:tenant", tenantName, "staging", "-force=true")
		cmd.Dir, cmd.Env = ws.Root, testrepo.MageEnv()
		go func() {
			out, err := cmd.CombinedOutput()
			results <- result{string(out), err}
		}()
	}
	var won, refused int
	for range 2 {
		r := <-results
		switch {
		case r.err == nil:
			won++
		case strings.Contains(r.out, "is being deployed by pid"):
			refused++
		default:
			t.Errorf("neither a deploy nor a clear refusal (%v):\n%s", r.err, r.out)
		}
	}
	if won != 1 || refused != 1 {
		t.Fatalf("won %d, refused %d; want one of each", won, refused)
	}
}

// killDeploy is issue 15's kill -9: the whole process group of a deploy is SIGKILLed while
// wrangler's upload hangs in the sandbox. Nothing may survive it (the parent-death signal lands
// on the node that uploads, not on a launcher), nothing may go live afterwards (the hung upload
// dies with its client), and the next deploy says what the killed one left, records it as
// interrupted and then deploys.
func killDeploy(t *testing.T, ws workspace.Workspace, sb *testworld.Sandbox, bin, tenantName string) {
	const hang = 8 * time.Second
	sb.Server.ClearFaults()
	sb.Server.AddFault(sandbox.Fault{Method: "PUT", Path: "/accounts/*/workers/scripts/*", Count: 1, Latency: hang})
	t.Cleanup(sb.Server.ClearFaults)
	tn, err := tenant.Load(t.Context(), ws, tenantName)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tn.Resolve(tenant.Staging)
	if err != nil {
		t.Fatal(err)
	}
	versionsBefore := len(sb.Server.Versions(r.AccountID, r.WorkerName))
	liveBefore, _ := sb.Server.Live(r.AccountID, r.WorkerName)
	records := history.Open(sandboxctl.PathsFor(ws).Records)
	before, err := records.List(tenantName, "staging")
	if err != nil {
		t.Fatal(err)
	}
	lockFile := lock.Path(filepath.Join(ws.StateDir(), "locks"), tenantName, "staging")

	var out bytes.Buffer
	cmd := exec.Command(bin, "deploy:tenant", tenantName, "staging", "-force=true")
	cmd.Dir, cmd.Env = ws.Root, testrepo.MageEnv()
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for deadline := time.Now().Add(2 * time.Minute); !(len(wranglerProcesses(ws.Root)) > 0 && faultTaken(sb.Server)); time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-exited:
			t.Fatalf("deploy ended (%v) before its upload reached the sandbox:\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("no hanging upload within 2 minutes:\n%s", out.String())
		}
	}
	hung := time.Now()
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	// The parent-death signal is delivered at once; give the kernel a moment to reap.
	for deadline := time.Now().Add(5 * time.Second); len(wranglerProcesses(ws.Root)) > 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
	}
	if ps := wranglerProcesses(ws.Root); len(ps) > 0 {
		t.Fatalf("processes of the killed run still running: %v", ps)
	}
	// Past the time the hung upload would have been answered: nothing new may appear.
	time.Sleep(time.Until(hung.Add(hang + 2*time.Second)))
	if n := len(sb.Server.Versions(r.AccountID, r.WorkerName)); n != versionsBefore {
		t.Fatalf("the killed run's upload went through: %d versions, %d before", n, versionsBefore)
	}
	if live, _ := sb.Server.Live(r.AccountID, r.WorkerName); primary(live) != primary(liveBefore) {
		t.Fatalf("live changed after the kill: %v, before %v", live, liveBefore)
	}
	if _, err := os.Stat(history.AttemptPath(records.Dir, tenantName, "staging")); err != nil {
		t.Fatalf("the killed run left no reserved record: %v", err)
	}
	if _, err := os.Stat(lockFile); err != nil {
		t.Fatalf("kill -9 cannot release the lock, yet there is none: %v", err)
	}

	// The next run takes the dead holder's lock, records the killed attempt, then deploys.
	next := exec.Command(bin, "deploy:tenant", tenantName, "staging", "-force=true")
	next.Dir, next.Env = ws.Root, testrepo.MageEnv()
	got, err := next.CombinedOutput()
	if err != nil {
		t.Fatalf("the run after the kill: %v\n%s", err, got)
	}
	if !strings.Contains(string(got), "was killed before it finished; recorded it as interrupted") {
		t.Errorf("the next run did not say what the killed one left:\n%s", got)
	}
	entries, err := records.List(tenantName, "staging")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(before)+2 || entries[0].Record.Status != history.StatusSucceeded ||
		entries[1].Record.Status != history.StatusInterrupted || !strings.Contains(entries[1].Record.Error, "nothing it uploaded is live") {
		for _, e := range entries {
			t.Logf("%s: %s: %s", filepath.Base(e.Path), e.Record.Status, e.Record.Error)
		}
		t.Fatalf("want the killed attempt recorded (interrupted, nothing live) then the new deploy (succeeded):\n%s", got)
	}
	if _, err := os.Stat(history.AttemptPath(records.Dir, tenantName, "staging")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the reservation outlived its settling: %v", err)
	}
	if problems, err := history.Verify(records.Dir); err != nil || len(problems) > 0 {
		t.Errorf("history:verify after the settled kill: %v %v", problems, err)
	}
}

func primary(d sandbox.Deployment) string {
	best, id := -1.0, ""
	for _, v := range d.Versions {
		if v.Percentage > best {
			best, id = v.Percentage, v.VersionID
		}
	}
	return id
}

// interruptDeploy runs mage (a command line) deploying tenantName to staging, sends sig to its
// process group once the upload hangs, and checks what is left.
func interruptDeploy(t *testing.T, ws workspace.Workspace, sb *testworld.Sandbox, mage []string, tenantName string, sig syscall.Signal) {
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
