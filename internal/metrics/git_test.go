package metrics

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func gitT(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestGitCommitsReadsTimesAndSubjectsOfTheRange(t *testing.T) {
	dir := t.TempDir()
	gitT(t, dir, nil, "init", "-q")
	commit := func(msg string, when time.Time) string {
		stamp := when.Format(time.RFC3339)
		env := []string{"GIT_AUTHOR_DATE=" + stamp, "GIT_COMMITTER_DATE=" + stamp, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x"}
		gitT(t, dir, env, "commit", "-q", "--allow-empty", "-m", msg)
		return gitT(t, dir, nil, "rev-parse", "HEAD")
	}
	c1 := commit("feat: one", t0)
	c2 := commit("feat: two", t0.Add(time.Hour))
	c3 := commit("fix: three", t0.Add(2*time.Hour))

	look := GitCommits(dir)
	cs, ok := look(context.Background(), c1, c3)
	if !ok || len(cs) != 2 || cs[0].SHA != c3 || cs[1].SHA != c2 || !cs[0].Time.Equal(t0.Add(2*time.Hour)) || cs[0].Subject != "fix: three" {
		t.Fatalf("c1..c3 = %+v, %v", cs, ok)
	}
	cs, ok = look(context.Background(), "", c1)
	if !ok || len(cs) != 1 || cs[0].SHA != c1 {
		t.Fatalf("..c1 = %+v, %v", cs, ok)
	}
	// A rollback's older sha: c3..c1 is empty, so the head commit alone is timed.
	cs, ok = look(context.Background(), c3, c1)
	if !ok || len(cs) != 1 || cs[0].SHA != c1 {
		t.Fatalf("c3..c1 = %+v, %v", cs, ok)
	}
	if _, ok := look(context.Background(), "", strings.Repeat("ab", 20)); ok {
		t.Fatal("an unknown sha is known")
	}
	if _, ok := look(context.Background(), "", "--output=/tmp/x"); ok {
		t.Fatal("a non-sha reached git")
	}
}
