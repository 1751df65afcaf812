package lock

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
	dir := t.TempDir()
	host, _ := os.Hostname()
	dead := deadPID(t)
	writeHolder(t, Path(dir, "acme", "staging"), Holder{PID: dead, Host: host, StartedAt: time.Now().Add(-time.Hour), Command: "crashed"})
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
	if _, err := os.Stat(Path(dir, "acme", "staging") + ".takeover"); !os.IsNotExist(err) {
		t.Fatalf("takeover side file left behind: %v", err)
	}
}

func TestAcquireRespectsOtherHostsAndLiveHolders(t *testing.T) {
	host, _ := os.Hostname()
	cases := map[string]Holder{
		"dead pid on another host": {PID: deadPID(t), Host: host + "-elsewhere", StartedAt: time.Now()},
		"live pid on this host":    {PID: os.Getppid(), Host: host, StartedAt: time.Now()},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeHolder(t, Path(dir, "acme", "staging"), h)
			_, err := Acquire(dir, "acme", "staging", Options{})
			var held *HeldError
			if !errors.As(err, &held) || held.Holder.PID != h.PID {
				t.Fatalf("got %v, want HeldError naming pid %d", err, h.PID)
			}
		})
	}
}

func TestUnreadableLockFile(t *testing.T) {
	dir := t.TempDir()
	path := Path(dir, "acme", "staging")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Fresh and empty: someone is writing it right now.
	if _, err := Acquire(dir, "acme", "staging", Options{}); err == nil {
		t.Fatal("fresh empty lock file was taken")
	}
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	l, err := Acquire(dir, "acme", "staging", Options{})
	if err != nil {
		t.Fatalf("abandoned empty lock file not taken over: %v", err)
	}
	l.Release()
}

func TestReleaseLeavesSomeoneElsesLock(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "acme", "staging", Options{})
	if err != nil {
		t.Fatal(err)
	}
	writeHolder(t, l.Path, Holder{PID: 1, Host: "x", StartedAt: time.Now()})
	if err := l.Release(); err == nil {
		t.Fatal("Release removed a lock it no longer held")
	}
	if _, err := os.Stat(filepath.Clean(l.Path)); err != nil {
		t.Fatalf("foreign lock removed: %v", err)
	}
}
