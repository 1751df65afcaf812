package deploy

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploytag"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// writeRecord stores the attempt in deployments/. It runs even when ctx is cancelled: an
// interrupted deploy must leave its record.
func (st *State) writeRecord() (string, error) {
	rec := st.Record
	if rec.WranglerVersion == "" {
		rec.WranglerVersion = wrangler.PinnedVersion
	}
	st.Record = rec
	entry, err := history.Open(st.Opts.Workspace.DeploymentsDir()).Write(rec, st.Token.Value.Reveal())
	if err != nil {
		return "", fmt.Errorf("deploy %s/%s: writing the record: %w", st.Opts.Tenant, st.Opts.Env, err)
	}
	return entry.Path, nil
}

// tag leaves the annotated git tag of a succeeded production deploy, so that the runbook's
// "redeploy from a tag" has the exact commit. Outside a git checkout there is nothing to tag;
// a failing tag is a warning: the deploy itself is done and recorded.
func (st *State) tag(ctx context.Context, recordFile string) string {
	r := st.Record
	if r.GitSHA == "" {
		return ""
	}
	rel, err := filepath.Rel(st.Opts.Workspace.Root, recordFile)
	if err != nil {
		rel = recordFile
	}
	name, err := deploytag.Create(context.WithoutCancel(ctx), st.Opts.Workspace.Root, deploytag.Summary{
		Tenant: r.Tenant, Env: r.Env, WorkerName: r.WorkerName, Status: string(r.Status), VersionID: r.VersionID,
		PreviousVersionID: r.PreviousVersionID, URL: r.URL, GitSHA: r.GitSHA, GitDirty: r.GitDirty, Actor: r.Actor,
		RecordFile: filepath.ToSlash(rel), FinishedAt: r.FinishedAt,
	})
	if err != nil {
		st.Opts.Log.Warn("could not leave the production deploy tag", "tenant", r.Tenant, "err", err)
		return ""
	}
	if name != "" {
		st.notef("tag", "tagged %s (push it with `git push origin %s`)", name, name)
	}
	return name
}
