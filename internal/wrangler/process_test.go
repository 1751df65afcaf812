package wrangler

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive reports whether pid still runs (a zombie waiting to be reaped counts as gone).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc (macOS): the signal probe is all there is
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z"
}

func waitFile(t *testing.T, p string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(p); err == nil && strings.HasSuffix(string(b), "\n") {
			return strings.TrimSpace(string(b))
		}
	}
	t.Fatalf("%s never written", p)
	return ""
}

// Cancelling the context stops wrangler and every child it started, including one that
// ignores SIGTERM (killed after the grace period): Ctrl-C leaves no orphans.
func TestCancelKillsTheProcessGroup(t *testing.T) {
	for _, tc := range []struct {
		name, trap string
	}{
		{"polite", ":"},
		{"ignores SIGTERM", "trap '' TERM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "child.pid")
			// The grandchild stands in for workerd/esbuild: started in the background,
			// still running when the parent is stopped.
			r := fakeWrangler(t, tc.trap+`
sh -c '`+tc.trap+`; sleep 300 & echo $! > `+pidFile+`.tmp; mv `+pidFile+`.tmp `+pidFile+`; wait' &
echo started
wait`)
			r.Grace = 300 * time.Millisecond
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := r.exec(ctx, Invocation{ConfigPath: "x", ScratchDir: t.TempDir()}, "deploy", nil, "")
				done <- err
			}()
			// mv makes the write atomic, but the pid has no newline: read until it parses.
			var child int
			for deadline := time.Now().Add(10 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if b, err := os.ReadFile(pidFile); err == nil {
					child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
				}
			}
			if child == 0 {
				t.Fatal("grandchild never started")
			}
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v, want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("exec did not return after cancel")
			}
			for deadline := time.Now().Add(5 * time.Second); alive(child) && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			}
			if alive(child) {
				_ = syscall.Kill(child, syscall.SIGKILL)
				t.Fatalf("grandchild %d survived the cancel", child)
			}
		})
	}
}

// A child left behind after wrangler exits normally is cleared too, and exec returns without
// waiting for it (it holds our pipes).
func TestNormalExitClearsLeftovers(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	r := fakeWrangler(t, `sleep 300 & echo $! > `+pidFile+`; echo bye`)
	start := time.Now()
	res, err := r.exec(context.Background(), Invocation{ConfigPath: "x", ScratchDir: t.TempDir()}, "deploy", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != "bye\n" {
		t.Errorf("stdout = %q", res.Stdout)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("exec waited %v for a leftover child", took)
	}
	child, _ := strconv.Atoi(strings.TrimSpace(waitFile(t, pidFile)))
	for deadline := time.Now().Add(5 * time.Second); alive(child) && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	}
	if alive(child) {
		_ = syscall.Kill(child, syscall.SIGKILL)
		t.Fatalf("leftover child %d still running", child)
	}
}

func TestStopGroup(t *testing.T) {
	r := fakeWrangler(t, `trap '' TERM; sleep 300 & wait`)
	cmd, err := r.Dev(context.Background(), Invocation{ConfigPath: "x", ScratchDir: t.TempDir()}, DevOptions{Port: 1, LogPath: filepath.Join(t.TempDir(), "dev.log")})
	if err != nil {
		t.Fatal(err)
	}
	reaped := make(chan struct{})
	go func() { _ = cmd.Wait(); close(reaped) }()
	if err := StopGroup(context.Background(), cmd.Process.Pid, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reaped:
	case <-time.After(5 * time.Second):
		t.Fatal("dev process still running after StopGroup")
	}
	if err := StopGroup(context.Background(), cmd.Process.Pid, time.Second); err != nil {
		t.Errorf("stopping a group that is gone: %v", err)
	}
	if StopGroup(context.Background(), 1, time.Second) == nil {
		t.Error("StopGroup accepted pid 1")
	}
}

// orphanParentEnv makes the test binary act as a parent that starts a fake wrangler and is
// then killed without a chance to cancel (see TestWranglerDiesWithItsParent).
const orphanParentEnv = "WRANGLER_TEST_ORPHAN_PARENT"

func TestOrphanParentHelper(t *testing.T) {
	bin := os.Getenv(orphanParentEnv)
	if bin == "" {
		t.Skip("helper process for TestWranglerDiesWithItsParent")
	}
	_, _ = Runner{Bin: bin}.exec(context.Background(), Invocation{ConfigPath: "x"}, "deploy", nil, "")
}

// A parent killed by SIGKILL cannot cancel anything: Linux's parent-death signal must take
// wrangler down with it.
func TestWranglerDiesWithItsParent(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("parent-death signal is Linux-only")
	}
	pidFile := filepath.Join(t.TempDir(), "wrangler.pid")
	fake := fakeWrangler(t, `echo $$ > `+pidFile+`.tmp; mv `+pidFile+`.tmp `+pidFile+`; exec sleep 300`)
	parent := exec.Command(os.Args[0], "-test.run=^TestOrphanParentHelper$")
	parent.Env = append(os.Environ(), orphanParentEnv+"="+fake.Bin)
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(waitFile(t, pidFile))
	_ = parent.Process.Kill()
	_ = parent.Wait()
	for deadline := time.Now().Add(5 * time.Second); alive(child) && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	}
	if alive(child) {
		_ = syscall.Kill(child, syscall.SIGKILL)
		t.Fatalf("wrangler %d outlived its killed parent", child)
	}
}

// A hung wrangler is stopped after the Runner's timeout with an error that says so.
func TestTimeoutStopsAHungRun(t *testing.T) {
	r := fakeWrangler(t, `sleep 300`)
	r.Timeout, r.Grace = 300*time.Millisecond, 100*time.Millisecond
	start := time.Now()
	_, err := r.exec(context.Background(), Invocation{ConfigPath: "x", ScratchDir: t.TempDir()}, "deploy", nil, "")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no result after 300ms") {
		t.Errorf("err = %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v", took)
	}
}
