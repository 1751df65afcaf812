package deploytag

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
)

// repo makes a git repository with one commit and no committer identity configured.
func repo(t *testing.T) (dir, head string) {
	t.Helper()
	dir = t.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q")
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("add", "a.txt")
	run("commit", "-q", "-m", "one")
	return dir, run("rev-parse", "HEAD")
}

func summary(head string, at time.Time) Summary {
	return Summary{Tenant: "mrrainbowsmoke", Env: "production", WorkerName: "mrrainbowsmoke-api", Status: "succeeded",
		VersionID: "11111111-2222-3333-4444-555555555555", PreviousVersionID: "00000000-2222-3333-4444-555555555555",
		GitSHA: head, Actor: "Ada", RecordFile: "deployments/mrrainbowsmoke-production-x.json", FinishedAt: at}
}

func TestCreateListCheckout(t *testing.T) {
	ctx := context.Background()
	dir, head := repo(t)
	at := time.Date(2026, 11, 28, 20, 15, 3, 500, time.UTC)
	name, err := Create(ctx, dir, summary(head, at))
	if err != nil {
		t.Fatal(err)
	}
	if name != "deploy/mrrainbowsmoke/production/20261128T201503Z" {
		t.Fatalf("tag name %q", name)
	}
	// It is an annotated tag whose message is the summary.
	out, err := exec.Command("git", "-C", dir, "cat-file", "-t", name).Output()
	if err != nil || strings.TrimSpace(string(out)) != "tag" {
		t.Fatalf("not an annotated tag: %q %v", out, err)
	}
	msg, _ := exec.Command("git", "-C", dir, "tag", "-l", "--format=%(contents)", name).Output()
	for _, want := range []string{"deploy mrrainbowsmoke/production succeeded", "11111111-2222-3333-4444-555555555555", "deployments/mrrainbowsmoke-production-x.json"} {
		if !strings.Contains(string(msg), want) {
			t.Errorf("tag message lacks %q:\n%s", want, msg)
		}
	}

	if _, err := Create(ctx, dir, summary(head, at.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	other := summary(head, at.Add(2*time.Hour))
	other.Tenant = "rainbowsmokeofficial"
	if _, err := Create(ctx, dir, other); err != nil {
		t.Fatal(err)
	}
	tags, err := List(ctx, dir, "mrrainbowsmoke")
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 2 || !tags[0].At.After(tags[1].At) || tags[0].Commit != head || tags[0].Tenant != "mrrainbowsmoke" {
		t.Fatalf("List = %+v", tags)
	}
	if all, _ := List(ctx, dir, ""); len(all) != 3 {
		t.Fatalf("List(all) = %d tags, want 3", len(all))
	}

	wt := filepath.Join(t.TempDir(), "redeploy")
	cleanup, err := Checkout(ctx, dir, name, wt)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(wt, "a.txt")); err != nil || string(b) != "one\n" {
		t.Fatalf("worktree content %q %v", b, err)
	}
	if err := cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(wt); !os.IsNotExist(err) {
		t.Errorf("worktree left behind: %v", err)
	}
}

func TestCreateSkipsWhatIsNotAProductionSuccess(t *testing.T) {
	dir, head := repo(t)
	for _, mod := range []func(*Summary){
		func(s *Summary) { s.Env = "staging" },
		func(s *Summary) { s.Status = "rolled_back" },
		func(s *Summary) { s.Status = "unchanged" },
	} {
		s := summary(head, time.Now())
		mod(&s)
		name, err := Create(context.Background(), dir, s)
		if err != nil || name != "" {
			t.Errorf("%+v: tag %q, err %v; want none", s, name, err)
		}
	}
	if tags, _ := List(context.Background(), dir, ""); len(tags) != 0 {
		t.Errorf("tags made: %+v", tags)
	}
}

func TestCheckoutRefusesOtherRefs(t *testing.T) {
	dir, _ := repo(t)
	if _, err := Checkout(context.Background(), dir, "main", filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), "not a deploy tag") {
		t.Errorf("err = %v", err)
	}
	if _, err := Checkout(context.Background(), dir, "deploy/x/production/20260101T000000Z", filepath.Join(t.TempDir(), "x")); err == nil || !strings.Contains(err.Error(), "git fetch --tags") {
		t.Errorf("err = %v", err)
	}
}

func TestFromRecord(t *testing.T) {
	at := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	rec := history.Record{Tenant: "acme", Env: "production", Status: history.StatusSucceeded, VersionID: "v9", GitSHA: "abc", FinishedAt: at}
	s := FromRecord(rec, "/x/deployments/acme-production-1.json")
	if !s.Wanted() || s.RecordFile != "deployments/acme-production-1.json" || s.VersionID != "v9" || !s.FinishedAt.Equal(at) {
		t.Errorf("FromRecord = %+v", s)
	}
	rec.Status = history.StatusRolledBack
	if FromRecord(rec, "").Wanted() {
		t.Error("a rolled back deploy wants a tag")
	}
}
