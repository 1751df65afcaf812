package lock

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestAcquireRefusesSecondWithHolder(t *testing.T) {
	dir := t.TempDir()
	first, err := Acquire(dir, "acme", "staging", Options{Command: "deploy:tenant acme staging"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir, "acme", "staging", Options{Command: "second"})
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire: %v, want *HeldError", err)
	}
	if held.Holder.PID != os.Getpid() || held.Holder.Command != "deploy:tenant acme staging" {
		t.Fatalf("holder = %+v", held.Holder)
	}
	host, _ := os.Hostname()
	for _, want := range []string{"acme/staging", "pid", host, first.Holder.StartedAt.UTC().Format(time.RFC3339)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	// Other env and other tenant are independent.
	for _, te := range [][2]string{{"acme", "production"}, {"other", "staging"}} {
		l, err := Acquire(dir, te[0], te[1], Options{})
		if err != nil {
			t.Fatalf("%v: %v", te, err)
		}
		defer l.Release()
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := first.Release(); err != nil {
		t.Fatalf("second Release: %v", err)
	}
	again, err := Acquire(dir, "acme", "staging", Options{})
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again.Release()
}

func TestAcquireConcurrentExactlyOneWins(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []*Lock
	refused := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := Acquire(dir, "acme", "staging", Options{})
			mu.Lock()
			defer mu.Unlock()
			var held *HeldError
			switch {
			case err == nil:
				won = append(won, l)
			case errors.As(err, &held):
				refused++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(won) != 1 || refused != n-1 {
		t.Fatalf("won %d, refused %d; want 1 and %d", len(won), refused, n-1)
	}
	won[0].Release()
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	return cmd.Process.Pid
}

func writeHolder(t *testing.T, path string, h Holder) {
	t.Helper()
	b, _ := json.Marshal(h)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAcquireTakesOverDeadHolderOnSameHost(t *testing.T) {
	host, _ := os.Hostname()
	// A dead pid, and a live one that does not hold the lock (a pid reused after the holder
	// died): neither keeps the lock, because nobody holds the flock.
	for name, pid := range map[string]int{"dead pid": deadPID(t), "reused pid": os.Getppid()} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeHolder(t, Path(dir, "acme", "staging"), Holder{PID: pid, Host: host, StartedAt: time.Now().Add(-time.Hour), Command: "crashed"})
			var logs bytes.Buffer
			l, err := Acquire(dir, "acme", "staging", Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatalf("stale lock not taken over: %v", err)
			}
			defer l.Release()
			if l.Holder.PID != os.Getpid() {
				t.Fatalf("new holder %+v", l.Holder)
			}
			if !strings.Contains(logs.String(), "stale") || !strings.Contains(logs.String(), "no longer running") {
				t.Fatalf("no warning logged: %q", logs.String())
			}
		})
	}
}

func TestAcquireRespectsOtherHosts(t *testing.T) {
	host, _ := os.Hostname()
	dir := t.TempDir()
	h := Holder{PID: deadPID(t), Host: host + "-elsewhere", StartedAt: time.Now()}
	writeHolder(t, Path(dir, "acme", "staging"), h)
	_, err := Acquire(dir, "acme", "staging", Options{})
	var held *HeldError
	if !errors.As(err, &held) || held.Holder.PID != h.PID || !strings.Contains(err.Error(), "another host") || !strings.Contains(err.Error(), "remove") {
		t.Fatalf("got %v, want HeldError naming pid %d on another host", err, h.PID)
	}
}

// An empty or half-written file that nobody holds is just a file: taken at once.
func TestUnreadableLockFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(Path(dir, "acme", "staging"), []byte("{\"pid\": 12"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Acquire(dir, "acme", "staging", Options{})
	if err != nil {
		t.Fatalf("unheld, unreadable lock file not taken: %v", err)
	}
	l.Release()
}

// Release never removes a lock file that is not the one it holds (its path was replaced).
func TestReleaseLeavesSomeoneElsesLock(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "acme", "staging", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(l.Path); err != nil {
		t.Fatal(err)
	}
	writeHolder(t, l.Path, Holder{PID: 1, Host: "x", StartedAt: time.Now()})
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Clean(l.Path)); err != nil {
		t.Fatalf("foreign lock removed: %v", err)
	}
}

// holdEnv makes the test binary a helper process that takes the lock in the named folder, says
// "held" or "refused" on stdout, and (when held) keeps it until killed or for a second.
const holdEnv = "LOCK_TEST_HOLD_DIR"

func TestHoldHelper(t *testing.T) {
	dir := os.Getenv(holdEnv)
	if dir == "" {
		t.Skip("helper process for the cross-process lock tests")
	}
	l, err := Acquire(dir, "acme", "staging", Options{Command: "helper"})
	var held *HeldError
	switch {
	case err == nil:
		os.Stdout.WriteString("held\n")
		time.Sleep(time.Duration(len(os.Getenv("LOCK_TEST_LONG"))+1) * time.Second)
		l.Release()
	case errors.As(err, &held):
		os.Stdout.WriteString("refused: " + err.Error() + "\n")
	default:
		os.Stdout.WriteString("error: " + err.Error() + "\n")
	}
}

func helper(t *testing.T, dir string, long bool) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldHelper$")
	cmd.Env = append(os.Environ(), holdEnv+"="+dir)
	if long {
		cmd.Env = append(cmd.Env, "LOCK_TEST_LONG="+strings.Repeat("x", 120))
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, bufio.NewReader(out)
}

// Processes started at the same instant: exactly one holds the lock, every other is refused
// with a HeldError naming it.
func TestSimultaneousProcessesOneWins(t *testing.T) {
	dir := t.TempDir()
	const n = 4
	var readers []*bufio.Reader
	for range n {
		_, r := helper(t, dir, true)
		readers = append(readers, r)
	}
	held, refused := 0, 0
	for _, r := range readers {
		line, _ := r.ReadString('\n')
		switch {
		case line == "held\n":
			held++
		case strings.HasPrefix(line, "refused: ") && strings.Contains(line, "is being deployed by pid"):
			refused++
		default:
			t.Errorf("helper said %q", line)
		}
	}
	if held != 1 || refused != n-1 {
		t.Fatalf("held %d, refused %d; want 1 and %d", held, refused, n-1)
	}
}

// A holder killed with SIGKILL loses the lock at once, even before anyone reaps it.
func TestKilledHolderReleasesAtOnce(t *testing.T) {
	dir := t.TempDir()
	cmd, r := helper(t, dir, true)
	if line, _ := r.ReadString('\n'); line != "held\n" {
		t.Fatalf("helper said %q", line)
	}
	_, err := Acquire(dir, "acme", "staging", Options{})
	var held *HeldError
	if !errors.As(err, &held) || held.Holder.PID != cmd.Process.Pid {
		t.Fatalf("while the helper holds it: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Not reaped: the helper is a zombie now, and kill(pid, 0) would still call it alive.
	var l *Lock
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if l, err = Acquire(dir, "acme", "staging", Options{}); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("lock of a killed, unreaped holder not free: %v", err)
	}
	l.Release()
}
