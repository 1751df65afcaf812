package recordsbranch

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = gitEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// world is a bare remote whose default branch is main, and n clones of it.
func world(t *testing.T, n int) (string, []string) {
	t.Helper()
	root := t.TempDir()
	bare := filepath.Join(root, "remote.git")
	git(t, root, "init", "-q", "--bare", "-b", "main", bare)
	seed := filepath.Join(root, "seed")
	git(t, root, "init", "-q", "-b", "main", seed)
	os.WriteFile(filepath.Join(seed, "README.md"), []byte("x\n"), 0o644)
	git(t, seed, "add", ".")
	git(t, seed, "commit", "-q", "-m", "init")
	git(t, seed, "remote", "add", "origin", bare)
	git(t, seed, "push", "-q", "origin", "main")
	var clones []string
	for i := range n {
		c := filepath.Join(root, "clone"+string(rune('a'+i)))
		git(t, root, "clone", "-q", bare, c)
		clones = append(clones, c)
	}
	return bare, clones
}

var clock = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func record(t *testing.T, dir, tenant string, at time.Time) string {
	t.Helper()
	st := history.Store{Dir: dir, Now: func() time.Time { return at }}
	p, err := st.Write(history.Record{Kind: history.KindDeploy, Tenant: tenant, Env: "production", Status: history.StatusSucceeded,
		Actor: "ci", StartedAt: at.Add(-time.Minute), VersionID: "v-" + at.Format("150405")})
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Base(p.Path)
}

func opts(clone string) Options {
	return Options{Repo: clone, Dir: filepath.Join(clone, "deployments"), Wait: func(int) time.Duration { return 10 * time.Millisecond }}
}

func verifyBranch(t *testing.T, clone string, want int) {
	t.Helper()
	git(t, clone, "fetch", "-q", "origin", DefaultBranch)
	dir, _, err := Extract(context.Background(), clone, DefaultBranch, "")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	probs, err := history.Verify(dir)
	if err != nil || len(probs) > 0 {
		t.Fatalf("the branch's chain: %v %v", probs, err)
	}
	des, _ := os.ReadDir(dir)
	if len(des) != want {
		t.Fatalf("the branch holds %d records, want %d", len(des), want)
	}
}

// Two CI jobs (two tenants) push at once: the loser fetches the winner's commit, commits on
// top of it and pushes again. Both land, every chain intact.
func TestTwoConcurrentWritersBothLand(t *testing.T) {
	ctx := context.Background()
	_, clones := world(t, 2)
	a, b := clones[0], clones[1]
	record(t, filepath.Join(a, "deployments"), "alpha", clock)
	record(t, filepath.Join(a, "deployments"), "alpha", clock.Add(time.Minute))
	record(t, filepath.Join(b, "deployments"), "beta", clock.Add(30*time.Second))
	devRec := history.Store{Dir: filepath.Join(b, "deployments"), Now: func() time.Time { return clock }}
	if _, err := devRec.Write(history.Record{Kind: history.KindDeploy, Tenant: "beta", Env: "dev", Status: history.StatusSucceeded, StartedAt: clock}); err != nil {
		t.Fatal(err) // a local dev run's record: never pushed
	}

	// Both have built their first commit before either pushes: a real race, every time.
	var ready sync.WaitGroup
	ready.Add(2)
	barrier := func(attempt int) {
		if attempt == 1 {
			ready.Done()
			ready.Wait()
		}
	}
	var wg sync.WaitGroup
	results := make([]Result, 2)
	errs := make([]error, 2)
	for i, c := range []string{a, b} {
		wg.Go(func() {
			o := opts(c)
			o.BeforePush = barrier
			results[i], errs[i] = Push(ctx, o)
		})
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil {
			t.Fatalf("writer %d: %v", i, errs[i])
		}
	}
	if results[0].Attempts+results[1].Attempts != 3 {
		t.Errorf("attempts %d and %d: want one writer to retry once", results[0].Attempts, results[1].Attempts)
	}
	if len(results[0].Added) != 2 || len(results[1].Added) != 1 {
		t.Errorf("added %v and %v", results[0].Added, results[1].Added)
	}
	verifyBranch(t, a, 3)
	if log := git(t, a, "log", "--format=%s", "origin/"+DefaultBranch); strings.Count(log, "records:") != 2 {
		t.Errorf("branch log:\n%s", log)
	}
	// main is untouched.
	if files := git(t, a, "ls-tree", "-r", "--name-only", "origin/main"); files != "README.md" {
		t.Errorf("main holds %q", files)
	}

	// The next run of alpha in clone b pulls first, so its record chains to a's newest.
	n, err := Pull(ctx, opts(b))
	if err != nil || n != 2 {
		t.Fatalf("pull: %d %v", n, err)
	}
	record(t, filepath.Join(b, "deployments"), "alpha", clock.Add(time.Hour))
	if res, err := Push(ctx, opts(b)); err != nil || len(res.Added) != 1 {
		t.Fatalf("push after pull: %+v %v", res, err)
	}
	verifyBranch(t, a, 4)

	// Pushing again adds nothing and makes no commit.
	if res, err := Push(ctx, opts(b)); err != nil || res.Commit != "" {
		t.Fatalf("second push: %+v %v", res, err)
	}
}

// A record written without pulling first claims the wrong predecessor: the push refuses and
// the branch keeps its intact chain.
func TestPushRefusesABrokenChain(t *testing.T) {
	ctx := context.Background()
	_, clones := world(t, 2)
	a, b := clones[0], clones[1]
	record(t, filepath.Join(a, "deployments"), "alpha", clock)
	if _, err := Push(ctx, opts(a)); err != nil {
		t.Fatal(err)
	}
	record(t, filepath.Join(b, "deployments"), "alpha", clock.Add(time.Hour)) // b never pulled
	_, err := Push(ctx, opts(b))
	var fork *ForkError
	if !errors.As(err, &fork) || fork.Want == "" || fork.Got == "" {
		t.Fatalf("want a *ForkError naming the record and the head it should follow, got %v", err)
	}
	verifyBranch(t, a, 1)
}

// Two runners that pulled the same head each record a deploy: the second push is refused,
// naming its record, and the branch keeps one chain.
func TestPushRefusesAFork(t *testing.T) {
	ctx := context.Background()
	_, clones := world(t, 2)
	a, b := clones[0], clones[1]
	record(t, filepath.Join(a, "deployments"), "alpha", clock)
	if _, err := Push(ctx, opts(a)); err != nil {
		t.Fatal(err)
	}
	if _, err := Pull(ctx, opts(b)); err != nil {
		t.Fatal(err)
	}
	record(t, filepath.Join(a, "deployments"), "alpha", clock.Add(time.Hour))
	forked := record(t, filepath.Join(b, "deployments"), "alpha", clock.Add(2*time.Hour))
	if _, err := Push(ctx, opts(a)); err != nil {
		t.Fatal(err)
	}
	_, err := Push(ctx, opts(b))
	var fork *ForkError
	if !errors.As(err, &fork) || fork.Record != forked {
		t.Fatalf("want a *ForkError naming %s, got %v", forked, err)
	}
	verifyBranch(t, a, 2)
}

// A rehearsal's records never reach the branch: neither its folder nor a record flagged so.
func TestPushRefusesRehearsals(t *testing.T) {
	ctx := context.Background()
	_, clones := world(t, 1)
	a := clones[0]
	dir := filepath.Join(a, ".state", "sandbox", "deployments")
	record(t, dir, "alpha", clock)
	o := opts(a)
	o.Dir = dir
	if _, err := Push(ctx, o); !errors.Is(err, ErrRehearsal) {
		t.Fatalf("push of a rehearsal folder: %v", err)
	}
}

func TestPushNeverOverwritesARecord(t *testing.T) {
	ctx := context.Background()
	_, clones := world(t, 2)
	a, b := clones[0], clones[1]
	name := record(t, filepath.Join(a, "deployments"), "alpha", clock)
	if _, err := Push(ctx, opts(a)); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(b, "deployments"), 0o755)
	os.WriteFile(filepath.Join(b, "deployments", name), []byte("{}\n"), 0o644)
	if _, err := Push(ctx, opts(b)); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("want a refusal, got %v", err)
	}
	if _, err := Pull(ctx, opts(b)); err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("pull: want a refusal, got %v", err)
	}
}

func TestProtectedBranchesAreRefused(t *testing.T) {
	ctx := context.Background()
	_, clones := world(t, 1)
	a := clones[0]
	record(t, filepath.Join(a, "deployments"), "alpha", clock)
	git(t, a, "remote", "set-head", "origin", "--auto")
	for _, br := range []string{"main", "master", "release/1.0", "bad..name", "--force"} {
		o := opts(a)
		o.Branch = br
		if _, err := Push(ctx, o); err == nil {
			t.Errorf("branch %q: pushed", br)
		}
	}
	// The remote's default branch, whatever its name, is refused too.
	git(t, a, "push", "-q", "origin", "HEAD:refs/heads/trunkish")
	bare := git(t, a, "remote", "get-url", "origin")
	git(t, bare, "symbolic-ref", "HEAD", "refs/heads/trunkish")
	o := opts(a)
	o.Branch = "trunkish"
	if _, err := Push(ctx, o); err == nil || !strings.Contains(err.Error(), "default branch") {
		t.Errorf("default branch: %v", err)
	}
	if _, err := Resolve(ctx, a, "nope"); err == nil || !strings.Contains(err.Error(), "git fetch origin nope") {
		t.Errorf("resolve: %v", err)
	}
}
