//go:build mage

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/recordsbranch"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Records keeps CI's deployment records on a dedicated git branch.
type Records mg.Namespace

// Push commits the records the records branch lacks and pushes them, retrying races.
//
// Usage: records:push [-branch=deploy-records] [-remote=origin] [-json=true]. It never
// force-pushes, refuses main, master, release branches and the remote's default branch, and
// refuses to add a record whose predecessor is not the head of its tenant/env's chain on the
// branch. While this checkout rehearses against a sandbox it pushes to rehearsal-records, and
// a rehearsal's records never reach deploy-records.
func (Records) Push(ctx context.Context,
	branch *string, // the records branch (default deploy-records)
	remote *string, // the git remote to push to (default origin)
	json *bool, // print the result as JSON on stdout
) error {
	ctx, stop := stoppable(ctx)
	defer stop()
	ws, log, err := setup()
	if err != nil {
		return err
	}
	res, err := recordsbranch.Push(ctx, recordsbranch.Options{Repo: ws.Root, Dir: ws.DeploymentsDir(), Rehearsal: rehearsing(ws),
		Branch: flag(branch, recordsBranch(ws)), Remote: flag(remote, "origin"), Log: log})
	if err != nil {
		return err
	}
	if flag(json, false) {
		return report.JSON(os.Stdout, res)
	}
	if res.Commit == "" {
		fmt.Println("records:push: the branch already holds every record")
		return nil
	}
	fmt.Printf("records:push: %d record(s) in %s after %d attempt(s)\n", len(res.Added), res.Commit[:12], res.Attempts)
	return nil
}

// Pull copies the records branch's missing records into deployments/ to chain on.
//
// Usage: records:pull [-branch=deploy-records] [-remote=origin]. Run it before a deploy in CI.
// A record present in both with other contents is an error and nothing is copied.
func (Records) Pull(ctx context.Context,
	branch *string, // the records branch (default deploy-records)
	remote *string, // the git remote to fetch from (default origin)
) error {
	ws, log, err := setup()
	if err != nil {
		return err
	}
	n, err := recordsbranch.Pull(ctx, recordsbranch.Options{Repo: ws.Root, Dir: ws.DeploymentsDir(), Rehearsal: rehearsing(ws),
		Branch: flag(branch, recordsBranch(ws)), Remote: flag(remote, "origin"), Log: log})
	if err != nil {
		return err
	}
	fmt.Printf("records:pull: %d record(s) copied into %s\n", n, ws.DeploymentsDir())
	return nil
}

// rehearsing reports whether setup chose the sandbox's rehearsal records folder for ws.
func rehearsing(ws workspace.Workspace) bool { return ws.Records != "" }

// recordsBranch is the default records branch: a rehearsal keeps its records on a branch of
// its own, so they never reach the real one (records:push refuses them there anyway).
func recordsBranch(ws workspace.Workspace) string {
	if rehearsing(ws) {
		return recordsbranch.RehearsalBranch
	}
	return recordsbranch.DefaultBranch
}

// sharedRecords brings the team's records (the records branch on the remote the leases use)
// into the records folder before a report reads it, so history, history:stats, fleet:status and
// report:html show every machine's deploys, not only this checkout's. Without a remote, or when
// it does not answer, the local records are read as they are (said).
func sharedRecords(ctx context.Context, ws workspace.Workspace, log *slog.Logger) {
	if guard == nil || guard.Store.Remote == "" {
		return
	}
	n, err := recordsbranch.Pull(ctx, recordsbranch.Options{Repo: ws.Root, Remote: guard.Store.Remote, Branch: recordsBranch(ws),
		Dir: ws.DeploymentsDir(), Rehearsal: rehearsing(ws), Log: log})
	if err != nil {
		log.Warn("reading this checkout's records only: the shared records branch could not be read", "branch", recordsBranch(ws), "err", err)
		return
	}
	if n > 0 {
		log.Info("brought in the team's records", "branch", recordsBranch(ws), "records", n)
	}
}

// recordsDir is the records folder a history target reads: dir itself, or with from a
// temporary copy of the records on that branch (and how to remove it).
func recordsDir(ctx context.Context, root, dir, from string) (string, func(), error) {
	if from == "" {
		return dir, func() {}, nil
	}
	d, commit, err := recordsbranch.Extract(ctx, root, from, "")
	if err != nil {
		return "", nil, err
	}
	fmt.Fprintf(os.Stderr, "reading the records of %s (commit %s)\n", from, commit[:12])
	return d, func() { _ = os.RemoveAll(d) }, nil
}
