package secrets

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 21 item 5: the file secrets:sync reads is judged by what it is, not by the name given:
// a link to a tracked file is refused, a hard link is refused, a file in the work tree that
// git does not ignore is refused; duplicate names, data after the object and an over-long
// value are refused. No message quotes a value.
func TestReadSyncFileRefuses(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("needs git")
	}
	ctx := context.Background()
	root := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		if b, err := exec.Command("git", append([]string{"-C", root}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, b)
		}
	}
	write := func(p, s string) string {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	git("init", "-q")
	write(filepath.Join(root, ".gitignore"), "ignored-*.json\n")
	tracked := write(filepath.Join(root, "tracked.json"), `{"API_KEY":"trackedvalue1"}`)
	git("add", "tracked.json", ".gitignore")
	outside := t.TempDir()

	symlink := filepath.Join(outside, "via-symlink.json")
	if err := os.Symlink(tracked, symlink); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(outside, "via-hardlink.json")
	if err := os.Link(tracked, hard); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", maxValue+1)
	for _, c := range []struct {
		name, path, want string
	}{
		{"symlink to a tracked file", symlink, "tracked by git"},
		{"hard link to a tracked file", hard, "hard links"},
		{"untracked, not ignored, in the work tree", write(filepath.Join(root, "loose.json"), `{"API_KEY":"loosevalue1"}`), "git does not ignore"},
		{"duplicate names", write(filepath.Join(outside, "dup.json"), `{"API_KEY":"firstvalue1","API_KEY":"secondvalue2"}`), "appears twice"},
		{"trailing data", write(filepath.Join(outside, "trail.json"), `{"API_KEY":"onevalue1"} {"API_KEY":"twovalue2"}`), "more after its JSON object"},
		{"a value over the cap", write(filepath.Join(outside, "big.json"), `{"API_KEY":"`+big+`"}`), "over 64 KiB"},
		{"not an object", write(filepath.Join(outside, "arr.json"), `["API_KEY=arrvalue1"]`), "not a JSON object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadSyncFile(ctx, root, c.path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to say %q", err, c.want)
			}
			for _, v := range []string{"trackedvalue1", "loosevalue1", "firstvalue1", "secondvalue2", "onevalue1", "twovalue2", "arrvalue1", "xxxxxxxx"} {
				if strings.Contains(err.Error(), v) {
					t.Fatalf("the error quotes a value: %v", err)
				}
			}
		})
	}
	// What is allowed: a file outside the repository, and one inside that git ignores.
	for _, p := range []string{
		write(filepath.Join(outside, "ok.json"), `{"B_KEY":"bvalue12","API_KEY":"avalue12"}`),
		write(filepath.Join(root, "ignored-ok.json"), `{"API_KEY":"avalue12"}`),
	} {
		vals, err := ReadSyncFile(ctx, root, p)
		if err != nil || len(vals) == 0 || vals[0].Name != "API_KEY" {
			t.Fatalf("%s: %v %v", p, vals, err)
		}
	}
}
