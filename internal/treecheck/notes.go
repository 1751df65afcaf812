package treecheck

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// The passes of `mage ci` that every machine shares are git notes keyed by the tree hash
// (the note of the tree object is the Pass as JSON) on the remote's refs/notes/checks, the
// remote records:push uses. Both a laptop and CI reach it; a note names one tree, so a pass of
// another tree never counts. Notes are facts that never change, so the local ref simply
// mirrors the remote's, with this machine's new pass added on top before each push.
const (
	notesRef = "refs/notes/checks"
	// NoRemote as Options.Remote keeps the memory on this machine.
	NoRemote = "-"
	// remoteTimeout bounds each fetch or push: an unreachable remote costs a deploy at most
	// this much before it runs the checks itself.
	remoteTimeout = 15 * time.Second
)

// remoteOf is the remote to share passes through: o's, else origin when the checkout has it;
// "" when there is none (a fresh clone of nothing, a copy without git).
func remoteOf(ctx context.Context, ws workspace.Workspace, remote string) string {
	switch remote {
	case NoRemote:
		return ""
	case "":
		remote = "origin"
	}
	if top, err := gitOut(ctx, ws.Root, nil, "rev-parse", "--show-toplevel"); err != nil || !sameDir(top, ws.Root) {
		return ""
	}
	if _, err := gitOut(ctx, ws.Root, nil, "remote", "get-url", remote); err != nil {
		return ""
	}
	return remote
}

// fetchNotes mirrors the remote's refs/notes/checks into the local one; false (no error) when
// the remote has none yet.
func fetchNotes(ctx context.Context, ws workspace.Workspace, remote string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, remoteTimeout)
	defer cancel()
	_, err := gitOut(ctx, ws.Root, []string{"GIT_TERMINAL_PROMPT=0"}, "fetch", "--quiet", "--no-tags", remote, "+"+notesRef+":"+notesRef)
	if err != nil && strings.Contains(err.Error(), "couldn't find remote ref") {
		return false, nil
	}
	return err == nil, err
}

// shared looks tree up in the remote's notes. A remote that cannot be read is said once on
// o.Out and the gate runs the checks itself.
func shared(ctx context.Context, o Options, tree string) (Pass, bool) {
	remote := remoteOf(ctx, o.Workspace, o.Remote)
	if remote == "" || strings.HasPrefix(tree, "sha256:") {
		return Pass{}, false
	}
	if found, err := fetchNotes(ctx, o.Workspace, remote); err != nil {
		fmt.Fprintf(o.Out, "checks: could not read the passes shared on %s (%s): %v\n", remote, notesRef, err)
		return Pass{}, false
	} else if !found {
		return Pass{}, false
	}
	out, err := gitOut(ctx, o.Workspace.Root, nil, "notes", "--ref="+notesRef, "show", tree)
	if err != nil {
		return Pass{}, false // no note for this tree
	}
	var p Pass
	if json.Unmarshal([]byte(out), &p) != nil || p.Tree != tree {
		return Pass{}, false
	}
	return p, true
}

// share adds p as the note of its tree and pushes refs/notes/checks to the remote, fetching
// and adding again when another machine pushed first.
func share(ctx context.Context, ws workspace.Workspace, remote string, p Pass) error {
	remote = remoteOf(ctx, ws, remote)
	if remote == "" || strings.HasPrefix(p.Tree, "sha256:") {
		return nil // no remote: the local memory is all there is
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	var last error
	for range 4 {
		if _, err := fetchNotes(ctx, ws, remote); err != nil {
			return fmt.Errorf("checks: sharing the pass on %s: %w", remote, err)
		}
		if _, err := gitOut(ctx, ws.Root, identity(ctx, ws), "notes", "--ref="+notesRef, "add", "-f", "-m", string(body), p.Tree); err != nil {
			return fmt.Errorf("checks: noting the pass of tree %s: %w", p.Tree, err)
		}
		pctx, cancel := context.WithTimeout(ctx, remoteTimeout)
		_, last = gitOut(pctx, ws.Root, []string{"GIT_TERMINAL_PROMPT=0"}, "push", "--quiet", remote, notesRef+":"+notesRef)
		cancel()
		if last == nil {
			return nil
		}
	}
	return fmt.Errorf("checks: pushing %s to %s: %w", notesRef, remote, last)
}

// identity names a committer for the notes commit when git has none configured (a CI runner).
func identity(ctx context.Context, ws workspace.Workspace) []string {
	if out, err := gitOut(ctx, ws.Root, nil, "config", "user.email"); err == nil && out != "" {
		return nil
	}
	return []string{"GIT_AUTHOR_NAME=mage ci", "GIT_AUTHOR_EMAIL=mage-ci@localhost", "GIT_COMMITTER_NAME=mage ci", "GIT_COMMITTER_EMAIL=mage-ci@localhost"}
}
