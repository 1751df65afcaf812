package treecheck_test

import (
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/ci"
	"github.com/rainbowsmoke/crispy-enigma/internal/treecheck"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestCIPassIsSharedThroughTheRemote: a pass of `mage ci` in one clone (CI, say) is a git note
// on the shared remote's refs/notes/checks, and the gate of the same tree in another clone (a
// laptop) finds it and runs nothing; the other way round too; a pass of another tree never
// counts; without a remote, or with one that cannot be reached, the gate runs the checks.
func TestCIPassIsSharedThroughTheRemote(t *testing.T) {
	ctx := context.Background()
	bare := t.TempDir()
	git(t, bare, "init", "-q", "--bare")
	a := gitRepo(t)
	git(t, a.Root, "remote", "add", "origin", bare)
	git(t, a.Root, "push", "-q", "origin", "HEAD:refs/heads/main")
	bRoot := t.TempDir()
	git(t, bRoot, "clone", "-q", "--branch", "main", bare, ".")
	b := workspace.Workspace{Root: bRoot}
	write(t, b.Root, ".gitignore", ".state/\n") // as in a (tracked there, so already here)

	var ran []string
	o := func(ws workspace.Workspace) treecheck.Options {
		return treecheck.Options{Workspace: ws, Covers: []string{"worker-tests"}, Steps: []ci.Step{{Name: "worker-tests", Run: func(context.Context, io.Writer) error {
			ran = append(ran, ws.Root)
			return nil
		}}}}
	}
	gate := func(o treecheck.Options) (string, string) {
		t.Helper()
		ran = nil
		var out strings.Builder
		o.Out = &out
		res, err := treecheck.Gate(ctx, o)
		if err != nil {
			t.Fatalf("gate: %v\n%s", err, out.String())
		}
		return res.Status, out.String()
	}

	// CI (clone a) passes `mage ci`; the laptop (clone b) deploys the same tree without
	// running anything.
	ta, _ := treecheck.Hash(ctx, a)
	tb, _ := treecheck.Hash(ctx, b)
	if ta != tb {
		t.Fatalf("one commit hashes differently in two clones: %s vs %s", ta, tb)
	}
	if err := treecheck.RecordCI(ctx, a, "", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if st, out := gate(o(b)); st != treecheck.StatusAlreadyPassed || len(ran) != 0 || !strings.Contains(out, "`go tool mage ci`") {
		t.Fatalf("the same tree in the other clone: status %q, ran %v\n%s", st, ran, out)
	}

	// Another tree in b: CI's pass does not count.
	write(t, b.Root, "a.txt", "changed on the laptop\n")
	if st, _ := gate(o(b)); st != treecheck.StatusPassed || len(ran) != 1 {
		t.Fatalf("another tree: status %q, ran %v", st, ran)
	}

	// The other way round: the laptop passes `mage ci` on its tree, and CI, given that tree,
	// runs nothing.
	if err := treecheck.RecordCI(ctx, b, "", time.Second); err != nil {
		t.Fatal(err)
	}
	write(t, a.Root, "a.txt", "changed on the laptop\n")
	if st, out := gate(o(a)); st != treecheck.StatusAlreadyPassed || len(ran) != 0 {
		t.Fatalf("the laptop's pass on CI: status %q, ran %v\n%s", st, ran, out)
	}
	// Both passes are on the remote: neither push lost the other's note.
	notes := git(t, bare, "notes", "--ref=refs/notes/checks", "list")
	if n := len(strings.Fields(notes)); n != 4 {
		t.Errorf("the remote holds %d note fields, want 2 notes:\n%s", n, notes)
	}

	// No remote: the memory is this machine's alone.
	c := gitRepo(t)
	write(t, c.Root, "a.txt", "changed on the laptop\n")
	if st, _ := gate(o(c)); st != treecheck.StatusPassed || len(ran) != 1 {
		t.Fatalf("no remote: status %q, ran %v", st, ran)
	}

	// A remote that cannot be reached: said, and the checks run here.
	d := gitRepo(t)
	git(t, d.Root, "remote", "add", "origin", bare+"-gone")
	write(t, d.Root, "a.txt", "changed on the laptop\n")
	if st, out := gate(o(d)); st != treecheck.StatusPassed || len(ran) != 1 || !strings.Contains(out, "could not read the passes shared on origin") {
		t.Fatalf("unreachable remote: status %q, ran %v\n%s", st, ran, out)
	}
}
