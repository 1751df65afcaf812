package lease

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
)

func guardFor(t *testing.T, repo string, env map[string]string) *Guard {
	t.Helper()
	g, err := NewGuard(context.Background(), Config{Repo: repo, StateDir: t.TempDir(), Lookup: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Without a remote the local lock is all there is, and the record says so.
func TestGuardWithoutARemoteIsTheLocalLockAlone(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "-q")
	h, err := guardFor(t, dir, nil).Take(context.Background(), "acme", "staging", "deploy:tenant acme staging")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h.Note(), "local lock only") {
		t.Fatalf("note %q", h.Note())
	}
}

// An unreachable remote refuses (nothing is changed) unless the operator chose the local lock
// alone, which the record then says.
func TestGuardUnreachableRemoteRefusesUnlessLocalLockOnly(t *testing.T) {
	c := clones(t, 1)
	git(t, c[0], "remote", "set-url", "origin", filepath.Join(t.TempDir(), "gone.git"))
	_, err := guardFor(t, c[0], nil).Take(context.Background(), "acme", "staging", "deploy:tenant acme staging")
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "-localLockOnly=true") {
		t.Fatalf("want a refusal naming -localLockOnly, got %v", err)
	}
	h, err := guardFor(t, c[0], map[string]string{EnvLocalOnly: "true"}).Take(context.Background(), "acme", "staging", "x")
	if err != nil || !strings.Contains(h.Note(), "-localLockOnly") {
		t.Fatalf("with local lock only: %v, note %v", err, h)
	}
}

// The lock takes the lease right after its flock; a run refused by the lease gets
// lock.ErrTeamHeld and the flock back; a nested lock of one process shares the lease.
func TestLockTakesTheLease(t *testing.T) {
	c := clones(t, 2)
	ga, gb := guardFor(t, c[0], nil), guardFor(t, c[1], nil)
	locks := t.TempDir()
	lock.SetTeam(ga)
	defer lock.SetTeam(nil)
	la, err := lock.Acquire(locks, "acme", "staging", lock.Options{Command: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(la.Note(), "lease refs/leases/acme/staging id ") {
		t.Fatalf("note %q", la.Note())
	}
	nested, err := ga.Take(context.Background(), "acme", "staging", "redeploy's worktree")
	if err != nil {
		t.Fatalf("a nested take in the holding process: %v", err)
	}
	_ = nested.Release(context.Background())
	if err := la.Check(context.Background()); err != nil {
		t.Fatalf("the nested release freed the outer lease: %v", err)
	}
	lock.SetTeam(gb)
	other := t.TempDir() // the other clone's own lock folder
	if _, err := lock.Acquire(other, "acme", "staging", lock.Options{Command: "b"}); !errors.Is(err, lock.ErrTeamHeld) {
		t.Fatalf("the other clone: want lock.ErrTeamHeld, got %v", err)
	}
	if err := la.Release(); err != nil {
		t.Fatal(err)
	}
	lb, err := lock.Acquire(other, "acme", "staging", lock.Options{Command: "b"})
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	_ = lb.Release()
}
