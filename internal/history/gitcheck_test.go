package history

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommittedNamesEditsTheChainCannotSee edits and deletes the newest record of a chain, which
// no later record commits to: Verify cannot tell, the comparison with the last commit can.
func TestCommittedNamesEditsTheChainCannotSee(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("git is needed: %v", err)
		}
		t.Skip("git is needed")
	}
	root := t.TempDir()
	dir := filepath.Join(root, "deployments")
	gitRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", root, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	gitRun("init", "-q")
	s := &Store{Dir: dir, Now: seq()}
	paths := writeN(t, s, 3)
	gitRun("add", ".")
	gitRun("commit", "-q", "-m", "records")
	ctx := context.Background()
	if p := Committed(ctx, root, dir); len(p) != 0 {
		t.Fatalf("clean checkout: %v", p)
	}

	// An in-place value edit of the newest record keeps the layout the tool writes.
	newest := paths[len(paths)-1]
	b, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(b), `"status": "succeeded"`, `"status": "unchanged"`, 1)
	if edited == string(b) {
		t.Fatalf("the record has no succeeded status to edit:\n%s", b)
	}
	if err := os.WriteFile(newest, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err := Verify(dir); err != nil || len(p) != 0 {
		t.Fatalf("Verify was expected to miss an edit of the newest record (the documented hole): %v %v", p, err)
	}
	p := Committed(ctx, root, dir)
	if len(p) != 1 || p[0].File != filepath.Base(newest) || !strings.Contains(p[0].Message, "edited") {
		t.Fatalf("edit of the newest record: %v", p)
	}

	// A new, uncommitted record is not a problem; a deleted committed one is.
	if _, err := s.Write(sample("acme", "staging", StatusSucceeded, "vz")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(paths[0]); err != nil {
		t.Fatal(err)
	}
	p = Committed(ctx, root, dir)
	if len(p) != 2 {
		t.Fatalf("want the edit and the deletion, got %v", p)
	}
	var deleted bool
	for _, pr := range p {
		if pr.File == filepath.Base(paths[0]) && strings.Contains(pr.Message, "deleted") {
			deleted = true
		}
	}
	if !deleted {
		t.Fatalf("deletion not named: %v", p)
	}
	if p := Committed(ctx, root, t.TempDir()); len(p) != 0 {
		t.Fatalf("a folder outside the checkout: %v", p)
	}
}
