package recordsbranch

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
)

// DefaultBranch is where CI keeps its records.
const DefaultBranch = "deploy-records"

// RehearsalBranch is where rehearsals that share a remote keep theirs, so two clones
// rehearsing against one sandbox still form one chain, apart from the real one.
const RehearsalBranch = "rehearsal-records"

// protected are branch names Push refuses whatever the remote says: records must never land
// on a branch people build from.
var protected = []string{"main", "master", "trunk", "develop", "production", "staging", "HEAD"}

// Options say where records go.
type Options struct {
	// Repo is the git checkout; Remote its remote (default origin); Branch the records branch
	// (default DefaultBranch); Prefix the folder inside the branch (default deployments).
	Repo, Remote, Branch, Prefix string
	// Dir is the local records folder.
	Dir string
	// Rehearsal pushes a rehearsal's records (to a branch that is not DefaultBranch); without
	// it a rehearsal's folder or record is refused.
	Rehearsal bool
	// Message is the commit message; "" means a summary of the added files.
	Message string
	// Attempts bounds the tries of a push that loses races (default 8).
	Attempts int
	// Wait is the pause before try n (n ≥ 2); nil means a jittered doubling from 200 ms.
	Wait func(n int) time.Duration
	// BeforePush, when set, runs just before each push (tests use it to force a race).
	BeforePush func(attempt int)
	Log        *slog.Logger
}

func (o *Options) defaults() {
	if o.Remote == "" {
		o.Remote = "origin"
	}
	if o.Branch == "" {
		o.Branch = DefaultBranch
	}
	if o.Prefix == "" {
		o.Prefix = "deployments"
	}
	if o.Attempts <= 0 {
		o.Attempts = 8
	}
	if o.Wait == nil {
		o.Wait = func(n int) time.Duration {
			d := 200 * time.Millisecond << min(n-2, 5)
			return d/2 + rand.N(d) // jitter, so two losers do not collide again in step
		}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// CheckBranch refuses a branch name that is protected, the remote's default branch, or not a
// valid branch name.
func CheckBranch(ctx context.Context, repo, remote, branch string) error {
	if slices.Contains(protected, branch) || strings.HasPrefix(branch, "release") || strings.HasPrefix(branch, "-") {
		return fmt.Errorf("records branch %q: refusing a protected or release branch; use %s", branch, DefaultBranch)
	}
	if _, err := run(ctx, repo, nil, nil, "check-ref-format", "--branch", branch); err != nil {
		return fmt.Errorf("records branch %q is not a valid branch name: %w", branch, err)
	}
	if remote != "" {
		if out, err := run(ctx, repo, nil, nil, "ls-remote", "--symref", remote, "HEAD"); err == nil {
			for _, line := range strings.Split(out, "\n") {
				if def, ok := strings.CutPrefix(line, "ref: refs/heads/"); ok && strings.Fields(def)[0] == branch {
					return fmt.Errorf("records branch %q is %s's default branch; refusing to push records there", branch, remote)
				}
			}
		}
	}
	return nil
}

// Result says what a Push did.
type Result struct {
	Commit   string   `json:"commit,omitempty"` // "" when there was nothing to add
	Added    []string `json:"added"`
	Attempts int      `json:"attempts"`
}

// remoteTip fetches the branch and returns its tip, "" when the remote has no such branch.
func remoteTip(ctx context.Context, o Options) (string, error) {
	out, err := run(ctx, o.Repo, nil, nil, "ls-remote", "--heads", o.Remote, "refs/heads/"+o.Branch)
	if err != nil {
		return "", fmt.Errorf("records branch: reading %s: %w", o.Remote, err)
	}
	if out == "" {
		return "", nil
	}
	tip := strings.Fields(out)[0]
	if _, err := run(ctx, o.Repo, nil, nil, "fetch", "--quiet", "--no-tags", o.Remote,
		"+refs/heads/"+o.Branch+":refs/remotes/"+o.Remote+"/"+o.Branch); err != nil {
		return "", fmt.Errorf("records branch: fetching %s %s: %w", o.Remote, o.Branch, err)
	}
	return tip, nil
}

// treeFiles lists the blobs of tip under prefix: base name → blob id.
func treeFiles(ctx context.Context, o Options, tip string) (map[string]string, error) {
	files := map[string]string{}
	if tip == "" {
		return files, nil
	}
	out, err := run(ctx, o.Repo, nil, nil, "ls-tree", "-z", tip, o.Prefix+"/")
	if err != nil {
		return nil, fmt.Errorf("records branch: listing %s: %w", tip, err)
	}
	for _, ent := range strings.Split(out, "\x00") {
		meta, name, ok := strings.Cut(ent, "\t")
		if f := strings.Fields(meta); ok && len(f) == 3 && f[1] == "blob" {
			files[path.Base(name)] = f[2]
		}
	}
	return files, nil
}

// localRecords lists the staging and production record files in dir (by name, sorted).
func localRecords(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, de := range des {
		// Records of local dev runs are personal (git-ignored); the branch is the shared history.
		if _, env, ok := history.Split(de.Name()); ok && env != "dev" && de.Type().IsRegular() {
			out = append(out, de.Name())
		}
	}
	return out, nil
}

// Push commits the records of o.Dir that the branch lacks and pushes, retrying lost races.
func Push(ctx context.Context, o Options) (Result, error) {
	o.defaults()
	res := Result{Added: []string{}}
	if err := CheckBranch(ctx, o.Repo, o.Remote, o.Branch); err != nil {
		return res, err
	}
	if o.Rehearsal && o.Branch == DefaultBranch {
		return res, fmt.Errorf("%w: a rehearsal's records go to %s, never to %s; nothing pushed", ErrRehearsal, RehearsalBranch, DefaultBranch)
	}
	if !o.Rehearsal && strings.Contains(filepath.ToSlash(o.Dir)+"/", "/.state/") {
		return res, fmt.Errorf("%w: %s is a rehearsal's records folder; nothing pushed", ErrRehearsal, o.Dir)
	}
	names, err := localRecords(o.Dir)
	if err != nil {
		return res, fmt.Errorf("records branch: %w", err)
	}
	// One git for every file: a leased deploy pushes before it releases, so this runs once per
	// deploy over the whole folder.
	var paths strings.Builder
	for _, n := range names {
		paths.WriteString(filepath.Join(o.Dir, n) + "\n")
	}
	blobs := map[string]string{}
	if len(names) > 0 {
		out, err := run(ctx, o.Repo, nil, []byte(paths.String()), "hash-object", "-w", "--stdin-paths")
		if err != nil {
			return res, fmt.Errorf("records branch: storing the records of %s: %w", o.Dir, err)
		}
		ids := strings.Fields(out)
		if len(ids) != len(names) {
			return res, fmt.Errorf("records branch: git hash-object gave %d ids for %d records", len(ids), len(names))
		}
		for i, n := range names {
			blobs[n] = ids[i]
		}
	}
	for attempt := 1; attempt <= o.Attempts; attempt++ {
		res.Attempts = attempt
		if attempt > 1 {
			select {
			case <-time.After(o.Wait(attempt)):
			case <-ctx.Done():
				return res, ctx.Err()
			}
		}
		tip, err := remoteTip(ctx, o)
		if err != nil {
			return res, err
		}
		commit, added, err := commitOnto(ctx, o, tip, names, blobs)
		if err != nil {
			return res, err
		}
		if commit == "" {
			o.Log.Info("records branch: nothing to add", "branch", o.Branch)
			return res, nil
		}
		if o.BeforePush != nil {
			o.BeforePush(attempt)
		}
		_, perr := run(ctx, o.Repo, nil, nil, "push", "--quiet", "--porcelain", o.Remote, commit+":refs/heads/"+o.Branch)
		if perr == nil {
			res.Commit, res.Added = commit, added
			o.Log.Info("records branch: pushed", "branch", o.Branch, "commit", commit[:12], "records", len(added), "attempt", attempt)
			return res, nil
		}
		now, err := run(ctx, o.Repo, nil, nil, "ls-remote", "--heads", o.Remote, "refs/heads/"+o.Branch)
		if err != nil {
			return res, fmt.Errorf("records branch: push failed (%v) and the remote cannot be read: %w", perr, err)
		}
		if f := strings.Fields(now); len(f) > 0 && f[0] != tip || (tip == "" && now != "") {
			o.Log.Warn("records branch: another writer pushed first; retrying on the new tip", "branch", o.Branch, "attempt", attempt)
			continue
		}
		return res, fmt.Errorf("records branch: push to %s %s: %w", o.Remote, o.Branch, perr)
	}
	return res, fmt.Errorf("records branch: %d pushes to %s %s all lost a race with other writers; run records:push again", o.Attempts, o.Remote, o.Branch)
}

// commitOnto builds, in a private index, tip's tree plus the local records it lacks, checks
// the records' chains in that tree, and returns the commit ("" when nothing is missing).
func commitOnto(ctx context.Context, o Options, tip string, names []string, blobs map[string]string) (string, []string, error) {
	have, err := treeFiles(ctx, o, tip)
	if err != nil {
		return "", nil, err
	}
	var added []string
	for _, n := range names {
		switch b, ok := have[n]; {
		case !ok:
			added = append(added, n)
		case b != blobs[n]:
			return "", nil, fmt.Errorf("records branch: %s is on %s with other contents than %s; a record is never overwritten: compare them (git show %s:%s/%s)",
				n, o.Branch, filepath.Join(o.Dir, n), tip, o.Prefix, n)
		}
	}
	if len(added) == 0 {
		return "", nil, nil
	}
	if err := continuesChains(ctx, o, have, added); err != nil {
		return "", nil, err
	}
	idx, err := os.CreateTemp("", "records-index-")
	if err != nil {
		return "", nil, err
	}
	idx.Close()
	os.Remove(idx.Name()) // git wants to create the index itself
	defer os.Remove(idx.Name())
	env := []string{"GIT_INDEX_FILE=" + idx.Name()}
	if tip != "" {
		_, err = run(ctx, o.Repo, env, nil, "read-tree", tip)
	} else {
		_, err = run(ctx, o.Repo, env, nil, "read-tree", "--empty")
	}
	if err != nil {
		return "", nil, fmt.Errorf("records branch: %w", err)
	}
	var info strings.Builder
	for _, n := range added {
		fmt.Fprintf(&info, "100644 %s\t%s/%s\n", blobs[n], o.Prefix, n)
	}
	if _, err := run(ctx, o.Repo, env, []byte(info.String()), "update-index", "--add", "--index-info"); err != nil {
		return "", nil, fmt.Errorf("records branch: %w", err)
	}
	tree, err := run(ctx, o.Repo, env, nil, "write-tree")
	if err != nil {
		return "", nil, fmt.Errorf("records branch: %w", err)
	}
	if err := checkChains(ctx, o, tree, added); err != nil {
		return "", nil, err
	}
	msg := o.Message
	if msg == "" {
		msg = summary(added)
	}
	args := []string{"commit-tree", tree, "-m", msg}
	if tip != "" {
		args = append(args, "-p", tip)
	}
	commit, err := run(ctx, o.Repo, nil, nil, args...)
	if err != nil {
		return "", nil, fmt.Errorf("records branch: %w", err)
	}
	return commit, added, nil
}

func summary(added []string) string {
	seen := map[string]bool{}
	var keys []string
	for _, n := range added {
		t, e, _ := history.Split(n)
		if k := t + "/" + e; !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return fmt.Sprintf("records: %d from %s", len(added), strings.Join(keys, ", "))
}

// checkChains extracts the tree's records and verifies them; a problem in a record being added
// stops the push (the branch would hold a broken chain), one in an older record is logged.
func checkChains(ctx context.Context, o Options, tree string, added []string) error {
	dir, err := os.MkdirTemp("", "records-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := extractTree(ctx, o.Repo, tree, o.Prefix, dir); err != nil {
		return err
	}
	probs, err := history.Verify(dir)
	if err != nil {
		return fmt.Errorf("records branch: %w", err)
	}
	var bad []string
	for _, p := range probs {
		if slices.Contains(added, p.File) {
			bad = append(bad, p.String())
		} else {
			o.Log.Warn("records branch: a record already on the branch fails verification", "problem", p.String())
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("records branch: the records to add would break the chain on %s (was records:pull run before the deploy?):\n%s", o.Branch, strings.Join(bad, "\n"))
	}
	return nil
}

// extractTree writes the files under prefix of a tree-ish into dir (flat: base names).
func extractTree(ctx context.Context, repo, treeish, prefix, dir string) error {
	out, err := runRaw(ctx, repo, nil, nil, "archive", "--format=tar", treeish, prefix+"/")
	if err != nil {
		var ge *gitErr
		if errors.As(err, &ge) && strings.Contains(ge.Stderr, "did not match any files") {
			return nil // the branch has no records folder yet
		}
		return fmt.Errorf("records branch: %w", err)
	}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("records branch: reading git archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Base(h.Name)
		if _, _, ok := history.Split(name); !ok {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 16<<20))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
}

// ErrRehearsal is matched by a push refused because it would carry a rehearsal's records: they
// never reach the real records branch.
var ErrRehearsal = errors.New("records:push refuses a rehearsal's records")

// ForkError is a record that does not continue its tenant/env's chain on the branch's tip.
type ForkError struct {
	Record, Branch string
	// Want is the record on the tip it should follow ("" for the first of its chain); Got what
	// its prev_record_sha256 names instead.
	Want, Got string
}

func (e *ForkError) Error() string {
	want := "no record (it would be the first)"
	if e.Want != "" {
		want = e.Want
	}
	return fmt.Sprintf("records branch: %s does not continue its chain on %s: it follows %s, but the newest record there is %s; another run recorded a deploy meanwhile. Nothing pushed: the record would fork the chain (run records:pull before deploying, and keep deploys under the lease)",
		e.Record, e.Branch, e.Got, want)
}

// continuesChains refuses an added record whose predecessor is not the head of its
// tenant/env's chain on the tip (or the added record before it), and a rehearsal's record.
func continuesChains(ctx context.Context, o Options, have map[string]string, added []string) error {
	heads := map[string]string{} // tenant-env -> newest record name on the tip
	for n := range have {
		t, e, ok := history.Split(n)
		if k := t + "-" + e; ok && n > heads[k] {
			heads[k] = n
		}
	}
	sorted := slices.Clone(added)
	slices.Sort(sorted) // names end with a fixed-width UTC stamp: name order is time order
	prev := map[string]struct{ name, sha string }{}
	for _, n := range sorted {
		t, e, _ := history.Split(n)
		k := t + "-" + e
		b, err := os.ReadFile(filepath.Join(o.Dir, n))
		if err != nil {
			return fmt.Errorf("records branch: %w", err)
		}
		var rec struct {
			Prev      string `json:"prev_record_sha256"`
			Rehearsal bool   `json:"rehearsal"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("records branch: %s: %w", n, err)
		}
		if rec.Rehearsal && !o.Rehearsal {
			return fmt.Errorf("%w: %s was written by a rehearsal against the sandbox; nothing pushed", ErrRehearsal, n)
		}
		want, ok := prev[k]
		if !ok && heads[k] != "" {
			hb, err := runRaw(ctx, o.Repo, nil, nil, "cat-file", "blob", have[heads[k]])
			if err != nil {
				return fmt.Errorf("records branch: reading %s on %s: %w", heads[k], o.Branch, err)
			}
			want = struct{ name, sha string }{heads[k], history.SHA256(hb)}
		}
		if rec.Prev != want.sha {
			got := "a record that is not on " + o.Branch
			if rec.Prev == "" {
				got = "nothing (it claims to be the first)"
			}
			for name, blob := range have {
				if hb, err := runRaw(ctx, o.Repo, nil, nil, "cat-file", "blob", blob); err == nil && rec.Prev != "" && history.SHA256(hb) == rec.Prev {
					got = name
					break
				}
			}
			return &ForkError{Record: n, Branch: o.Branch, Want: want.name, Got: got}
		}
		prev[k] = struct{ name, sha string }{n, history.SHA256(b)}
	}
	return nil
}
