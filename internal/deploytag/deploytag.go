package deploytag

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
)

// Prefix starts every deploy tag; the workflow pushes refs/tags/deploy/*.
const Prefix = "deploy/"

// stamp is the tag's timestamp: UTC, to the second, without the colons git refuses in names.
const stamp = "20060102T150405Z"

// Summary is what the tag says about the deploy it marks; the deploy record has all of it.
type Summary struct {
	Tenant, Env       string
	WorkerName        string
	Status            string
	VersionID         string
	PreviousVersionID string
	URL               string
	GitSHA            string
	GitDirty          bool
	Actor             string
	// RecordFile is the record's path relative to the repository (deployments/<...>.json).
	RecordFile string
	FinishedAt time.Time
}

// Name is the tag of tenant's production deploy that finished at t.
func Name(tenant string, t time.Time) string {
	return Prefix + tenant + "/production/" + t.UTC().Format(stamp)
}

// Message is the tag's annotation: a subject line, then one fact per line.
func (s Summary) Message() string {
	var b strings.Builder
	fmt.Fprintf(&b, "deploy %s/%s %s: version %s\n\n", s.Tenant, s.Env, s.Status, s.VersionID)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-9s %s\n", k+":", v)
		}
	}
	line("worker", s.WorkerName)
	line("version", s.VersionID)
	line("previous", s.PreviousVersionID)
	line("url", s.URL)
	git := s.GitSHA
	if s.GitDirty {
		git += " (working tree had uncommitted changes: this tag points at the commit, not at what was deployed)"
	}
	line("git", git)
	line("actor", s.Actor)
	line("record", s.RecordFile)
	if !s.FinishedAt.IsZero() {
		line("finished", s.FinishedAt.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// Wanted reports whether a deploy with this summary leaves a tag: only production deploys that
// put a new version live (succeeded), since only those are worth going back to.
func (s Summary) Wanted() bool {
	return s.Env == "production" && s.Status == "succeeded" && s.VersionID != ""
}

// Create tags the deploy in the git repository at dir and returns the tag's name. The tag points
// at s.GitSHA (HEAD when empty). A summary that does not want a tag (see Wanted) returns "", nil.
// Nothing is pushed: the deploy workflow pushes refs/tags/deploy/*.
func Create(ctx context.Context, dir string, s Summary) (string, error) {
	if !s.Wanted() {
		return "", nil
	}
	if s.Tenant == "" || strings.ContainsAny(s.Tenant, " /\\:~^?*[") {
		return "", fmt.Errorf("deploy tag: tenant %q cannot be part of a tag name", s.Tenant)
	}
	at := s.FinishedAt
	if at.IsZero() {
		at = time.Now()
	}
	name := Name(s.Tenant, at)
	commit := s.GitSHA
	if commit == "" {
		commit = "HEAD"
	}
	_, err := git(ctx, dir, s.Message(), "tag", "--annotate", "--file=-", name, commit)
	if err != nil {
		return "", fmt.Errorf("deploy tag %s for %s/%s: %w", name, s.Tenant, s.Env, err)
	}
	return name, nil
}

// Tag is one deploy tag in the repository.
type Tag struct {
	Name   string
	Tenant string
	At     time.Time
	Commit string
	// Subject is the first line of the tag's message.
	Subject string
}

// List returns the production deploy tags of tenant ("" for every tenant), newest first.
func List(ctx context.Context, dir, tenant string) ([]Tag, error) {
	pattern := "refs/tags/" + Prefix + "*/production/*"
	if tenant != "" {
		pattern = "refs/tags/" + Prefix + tenant + "/production/*"
	}
	out, err := git(ctx, dir, "", "for-each-ref", "--format=%(refname:short)%00%(*objectname)%00%(objectname)%00%(contents:subject)", pattern)
	if err != nil {
		return nil, fmt.Errorf("deploy tags: %w", err)
	}
	var tags []Tag
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\x00")
		if len(f) != 4 {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(f[0], Prefix), "/")
		if len(parts) != 3 {
			continue
		}
		at, err := time.Parse(stamp, parts[2])
		if err != nil {
			continue // someone else's tag under deploy/: not ours to list
		}
		commit := f[1]
		if commit == "" {
			commit = f[2] // a lightweight tag points at the commit itself
		}
		tags = append(tags, Tag{Name: f[0], Tenant: parts[0], At: at, Commit: commit, Subject: f[3]})
	}
	slices.SortStableFunc(tags, func(a, b Tag) int { return b.At.Compare(a.At) })
	return tags, nil
}

// Checkout puts the tree of tag into a new git worktree at path, for redeploying exactly what
// was live then. The returned cleanup removes the worktree again.
func Checkout(ctx context.Context, dir, tag, path string) (cleanup func() error, err error) {
	if !strings.HasPrefix(tag, Prefix) {
		return nil, fmt.Errorf("redeploy from tag: %q is not a deploy tag (they start with %s; list them with `git tag -l '%s*'`)", tag, Prefix, Prefix)
	}
	if _, err := git(ctx, dir, "", "rev-parse", "--verify", "--quiet", "refs/tags/"+tag); err != nil {
		return nil, fmt.Errorf("redeploy from tag: no tag %s in %s; run `git fetch --tags` first", tag, dir)
	}
	if _, err := git(ctx, dir, "", "worktree", "add", "--detach", path, tag); err != nil {
		return nil, fmt.Errorf("redeploy from tag %s: %w", tag, err)
	}
	return func() error {
		_, err := git(context.WithoutCancel(ctx), dir, "", "worktree", "remove", "--force", path)
		return err
	}, nil
}

// git runs git in dir with stdin and returns its stdout. A missing committer identity (common
// on CI runners) falls back to a neutral one so that annotated tags can still be made.
func git(ctx context.Context, dir, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = os.Environ()
	if exec.CommandContext(ctx, "git", "-C", dir, "var", "GIT_COMMITTER_IDENT").Run() != nil {
		cmd.Env = append(cmd.Env, "GIT_COMMITTER_NAME=crispy-enigma deploy", "GIT_COMMITTER_EMAIL=deploy@invalid")
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", fmt.Errorf("git %s: %s", args[0], strings.TrimSpace(errb.String()))
		}
		return "", fmt.Errorf("git %s: %w", args[0], err)
	}
	return out.String(), nil
}

// FromRecord is the summary of a written deploy record; recordPath is where it was written.
// The deploy pipeline tags a deploy with
//
//	deploytag.Create(ctx, ws.Root, deploytag.FromRecord(rec, recordPath))
//
// right after writing the record; Create skips everything but succeeded production deploys.
func FromRecord(rec history.Record, recordPath string) Summary {
	s := Summary{Tenant: rec.Tenant, Env: rec.Env, WorkerName: rec.WorkerName, Status: string(rec.Status),
		VersionID: rec.VersionID, PreviousVersionID: rec.PreviousVersionID, URL: rec.URL,
		GitSHA: rec.GitSHA, GitDirty: rec.GitDirty, Actor: rec.Actor, FinishedAt: rec.FinishedAt}
	if recordPath != "" {
		s.RecordFile = "deployments/" + filepath.Base(recordPath)
	}
	return s
}
