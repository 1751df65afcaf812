package recordsbranch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
)

// Resolve finds the commit a -from value names: a local branch or ref, else the remote
// tracking branch origin/<from> (what `git fetch origin deploy-records` leaves).
func Resolve(ctx context.Context, repo, from string) (string, error) {
	if from == "" || from[0] == '-' {
		return "", fmt.Errorf("-from=%q: name a branch, e.g. -from=%s", from, DefaultBranch)
	}
	for _, ref := range []string{from, "refs/remotes/origin/" + from} {
		if c, err := run(ctx, repo, nil, nil, "rev-parse", "--verify", "--quiet", ref+"^{commit}"); err == nil && c != "" {
			return c, nil
		}
	}
	return "", fmt.Errorf("-from=%s: no such branch here; fetch it first: git fetch origin %s", from, from)
}

// Extract writes the records of the branch (or ref) from into a new temporary folder and
// returns it with the commit it came from; remove the folder when done.
func Extract(ctx context.Context, repo, from, prefix string) (dir, commit string, err error) {
	commit, err = Resolve(ctx, repo, from)
	if err != nil {
		return "", "", err
	}
	if prefix == "" {
		prefix = "deployments"
	}
	dir, err = os.MkdirTemp("", "records-"+filepath.Base(from)+"-")
	if err != nil {
		return "", "", err
	}
	if err := extractTree(ctx, repo, commit, prefix, dir); err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	return dir, commit, nil
}

// Pull copies into o.Dir the branch's records that it lacks, so that the next record written
// there chains to the newest record CI kept. It returns how many it copied; a name present in
// both with other bytes is an error and nothing is copied.
func Pull(ctx context.Context, o Options) (int, error) {
	o.defaults()
	if o.Rehearsal == (o.Branch == DefaultBranch) && (o.Rehearsal || strings.Contains(filepath.ToSlash(o.Dir)+"/", "/.state/")) {
		return 0, fmt.Errorf("%w: the real records (%s) and a rehearsal's (%s) never mix; nothing copied", ErrRehearsal, DefaultBranch, o.Dir)
	}
	tip, err := remoteTip(ctx, o)
	if err != nil || tip == "" {
		return 0, err
	}
	tmp, err := os.MkdirTemp("", "records-pull-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	if err := extractTree(ctx, o.Repo, tip, o.Prefix, tmp); err != nil {
		return 0, err
	}
	names, err := localRecords(tmp)
	if err != nil {
		return 0, err
	}
	var copyNames []string
	for _, n := range names {
		theirs, err := os.ReadFile(filepath.Join(tmp, n))
		if err != nil {
			return 0, err
		}
		mine, err := os.ReadFile(filepath.Join(o.Dir, n))
		switch {
		case err == nil && !bytes.Equal(mine, theirs):
			return 0, fmt.Errorf("records branch: %s differs between %s and %s; a record is never overwritten: compare them", n, o.Branch, o.Dir)
		case err == nil:
		case os.IsNotExist(err):
			copyNames = append(copyNames, n)
		default:
			return 0, err
		}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return 0, err
	}
	for _, n := range copyNames {
		if err := place(filepath.Join(tmp, n), o.Dir, n); err != nil {
			return 0, fmt.Errorf("records branch: %w", err)
		}
	}
	o.Log.Info("records branch: pulled", "branch", o.Branch, "records", len(copyNames))
	// A record of this checkout that the branch's chain already passed by is a fork: say so
	// now, before a deploy chains onto it and records:push refuses.
	if probs, err := history.Verify(o.Dir); err == nil {
		for _, p := range probs {
			if p.Fork() {
				o.Log.Warn("records:pull: a local record forks the chain of the branch; it cannot be pushed", "record", p.File, "why", p.Message)
			}
		}
	}
	return len(copyNames), nil
}

// place copies src to dir/name through a synced temporary file in dir and a hard link, an
// atomic create that never replaces: a record written there meanwhile wins.
func place(src, dir, name string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".pull-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(b)
	serr := tmp.Sync()
	if err := errors.Join(werr, serr, tmp.Close()); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}
