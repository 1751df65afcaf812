package lease

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/gitrun"
)

// clones makes a bare repository and n clones of it, each with origin pointing at it.
func clones(t *testing.T, n int) []string {
	t.Helper()
	dir := t.TempDir()
	bare := filepath.Join(dir, "remote.git")
	git(t, dir, "init", "--bare", "-q", bare)
	var out []string
	for i := range n {
		c := filepath.Join(dir, "clone"+string(rune('a'+i)))
		git(t, dir, "clone", "-q", bare, c)
		out = append(out, c)
	}
	return out
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = gitrun.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// fakeClock is a reader's clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func store(t *testing.T, repo string, clk *fakeClock) Store {
	s := Store{Repo: repo, Remote: "origin", SeenDir: filepath.Join(t.TempDir(), "seen")}
	if clk != nil {
		s.now = clk.now
	}
	return s
}

func TestTakeIsExclusiveAcrossClonesAndReleaseFreesIt(t *testing.T) {
	ctx := context.Background()
	c := clones(t, 2)
	a, b := store(t, c[0], nil), store(t, c[1], nil)
	la, err := a.Take(ctx, "acme", "staging", TakeOptions{Holder: Holder{Who: "alice", Command: "deploy:tenant acme staging"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Take(ctx, "acme", "staging", TakeOptions{Holder: Holder{Who: "bob"}, TTL: time.Hour})
	var held *HeldError
	if !errors.As(err, &held) || held.Lease.Content.Holder.Who != "alice" || held.Lease.Content.Holder.ID != la.Content.Holder.ID {
		t.Fatalf("second take: want *HeldError naming alice, got %v", err)
	}
	if err := la.Check(ctx); err != nil {
		t.Fatalf("holder's check: %v", err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	lb, err := b.Take(ctx, "acme", "staging", TakeOptions{Holder: Holder{Who: "bob"}, TTL: time.Hour})
	if err != nil {
		t.Fatalf("take after release: %v", err)
	}
	defer lb.Release(ctx)
	got, ok, err := a.Get(ctx, "acme", "staging")
	if err != nil || !ok || got.Content.Holder.Who != "bob" || got.Content.State != Held {
		t.Fatalf("status from the other clone: %+v %v %v", got, ok, err)
	}
}

func TestExpiryIsCountedByTheReaderAndTakeoverNamesTheHolder(t *testing.T) {
	ctx := context.Background()
	c := clones(t, 2)
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a, b := store(t, c[0], nil), store(t, c[1], clk)
	// The holder's renewal is slowed to never (TTL of an hour) and never released: a kill -9.
	la, err := a.Take(ctx, "acme", "production", TakeOptions{Holder: Holder{Who: "alice"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// b first sees it now; an hour by b's clock later, it has expired.
	if _, err := b.Take(ctx, "acme", "production", TakeOptions{Holder: Holder{Who: "bob"}}); err == nil {
		t.Fatal("took a fresh lease")
	}
	clk.add(59 * time.Minute)
	if l, _, _ := b.Get(ctx, "acme", "production"); l.Expired {
		t.Fatal("expired before its time to live by the reader's count")
	}
	clk.add(2 * time.Minute)
	lb, err := b.Take(ctx, "acme", "production", TakeOptions{Holder: Holder{Who: "bob"}, TTL: time.Hour})
	if err != nil {
		t.Fatalf("takeover of an expired lease: %v", err)
	}
	if lb.Replaced == nil || lb.Replaced.Content.Holder.ID != la.Content.Holder.ID || lb.Content.Replaced.Who != "alice" {
		t.Fatalf("takeover does not name the replaced holder: %+v", lb.Content)
	}
	// The old holder finds out before its next change to Cloudflare.
	var lost *LostError
	if err := la.Check(ctx); !errors.As(err, &lost) {
		t.Fatalf("old holder's check: want *LostError, got %v", err)
	}
	_ = la.Release(ctx) // must not free bob's lease
	if l, _, _ := b.Get(ctx, "acme", "production"); l.Content.State != Held || l.Content.Holder.Who != "bob" {
		t.Fatalf("the old holder's release touched the new lease: %+v", l.Content)
	}
	_ = lb.Release(ctx)
}

func TestTwoBreakersOneWins(t *testing.T) {
	ctx := context.Background()
	c := clones(t, 3)
	la, err := store(t, c[0], nil).Take(ctx, "acme", "staging", TakeOptions{Holder: Holder{Who: "alice"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	id := la.Content.Holder.ID
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = store(t, c[i+1], nil).Break(ctx, "acme", "staging", id, true, Holder{Who: "breaker"})
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		var be *BreakError
		switch {
		case err == nil:
			wins++
		case !errors.As(err, &be):
			t.Fatalf("a breaker failed other than by losing: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d breakers won: %v", wins, errs)
	}
	l, _, _ := store(t, c[0], nil).Get(ctx, "acme", "staging")
	if l.Content.State != Broken || l.Content.Replaced == nil || l.Content.Replaced.ID != id {
		t.Fatalf("broken lease does not name whose lease it broke: %+v", l.Content)
	}
}

func TestBreakRefusesAWrongIDAndAnUnexpiredLease(t *testing.T) {
	ctx := context.Background()
	c := clones(t, 2)
	la, err := store(t, c[0], nil).Take(ctx, "acme", "staging", TakeOptions{Holder: Holder{Who: "alice"}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer la.Release(ctx)
	b := store(t, c[1], nil)
	var be *BreakError
	if _, err := b.Break(ctx, "acme", "staging", "nope", true, Holder{}); !errors.As(err, &be) {
		t.Fatalf("wrong id: %v", err)
	}
	if _, err := b.Break(ctx, "acme", "staging", la.Content.Holder.ID, false, Holder{}); !errors.As(err, &be) {
		t.Fatalf("unexpired without force: %v", err)
	}
	if err := la.Check(ctx); err != nil {
		t.Fatalf("a refused break changed the lease: %v", err)
	}
}

func TestUnreachableRemoteIsNotAHeldLease(t *testing.T) {
	ctx := context.Background()
	c := clones(t, 1)
	git(t, c[0], "remote", "set-url", "origin", filepath.Join(t.TempDir(), "gone.git"))
	_, err := store(t, c[0], nil).Take(ctx, "acme", "staging", TakeOptions{Holder: Holder{Who: "alice"}})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("want ErrUnreachable, got %v", err)
	}
}

func TestRenewalChangesTheOIDAndKeepsTheLease(t *testing.T) {
	ctx := context.Background()
	c := clones(t, 1)
	la, err := store(t, c[0], nil).Take(ctx, "acme", "staging", TakeOptions{Holder: Holder{Who: "alice"}, TTL: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	first := la.OID()
	deadline := time.Now().Add(5 * time.Second)
	for la.OID() == first && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if la.OID() == first {
		t.Fatal("the lease was never renewed")
	}
	if err := la.Check(ctx); err != nil {
		t.Fatalf("check after renewal: %v", err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
}
