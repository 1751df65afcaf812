package metrics

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxCommitsPerDeploy bounds what one deploy contributes to the lead time: a first deploy
// after years of history would otherwise weigh every old commit.
const maxCommitsPerDeploy = 500

var shaRE = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// GitCommits answers Commits from the git checkout at root with `git log`, caching answers
// (records repeat shas). A sha the clone does not have (a shallow CI clone, a rewritten
// branch) is unknown, not an error.
func GitCommits(root string) Commits {
	var mu sync.Mutex
	type key struct{ from, to string }
	type answer struct {
		cs []Commit
		ok bool
	}
	cache := map[key]answer{}
	return func(ctx context.Context, from, to string) ([]Commit, bool) {
		if !shaRE.MatchString(to) || (from != "" && !shaRE.MatchString(from)) {
			return nil, false
		}
		mu.Lock()
		a, hit := cache[key{from, to}]
		mu.Unlock()
		if hit {
			return a.cs, a.ok
		}
		args := []string{"log", "--format=%H%x00%ct%x00%s", "-n", strconv.Itoa(maxCommitsPerDeploy)}
		if from == "" {
			args = append(args, "-n", "1", to)
		} else {
			args = append(args, from+".."+to)
		}
		cs, ok := gitLog(ctx, root, args)
		if ok && len(cs) == 0 && from != "" {
			// from is not an ancestor of to's history in a way that leaves commits (a
			// rollback's older sha, a force-push): time the head commit alone.
			cs, ok = gitLog(ctx, root, []string{"log", "--format=%H%x00%ct%x00%s", "-n", "1", to})
		}
		mu.Lock()
		cache[key{from, to}] = answer{cs, ok}
		mu.Unlock()
		return cs, ok
	}
}

func gitLog(ctx context.Context, root string, args []string) ([]Commit, bool) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", root}, args...)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return nil, false
	}
	var cs []Commit
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.SplitN(line, "\x00", 3)
		if len(f) != 3 {
			continue
		}
		sec, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		cs = append(cs, Commit{SHA: f[0], Time: time.Unix(sec, 0).UTC(), Subject: f[2]})
	}
	return cs, true
}
