package rollback

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/deploytag"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Redeploy is the runbook's option B: it deploys, to production, exactly the tree a deploy tag
// marks (deploy/<tenant>/production/<stamp>), for when the version to go back to is no longer
// among the Worker's last 100 or the code must be rebuilt. The tag's tree is checked out into
// a git worktree under .state/redeploy/, deployed with the normal pipeline (forced, so a new
// version is made even if the fingerprint matches), and its record is appended to this
// checkout's deployments/ with the reason "redeploy of <tag>". The worktree is removed after.
// The name was parsed by the caller (tenant.ParseName). The outcome is filled as far as the
// redeploy got, also on error, and the caller renders it (deploy.WriteOutcome); its Took is
// the whole redeploy's, the checkout of the tag's tree included.
func Redeploy(ctx context.Context, ws workspace.Workspace, log *slog.Logger, name tenant.Name, tag string, stderr io.Writer) (deploy.Outcome, error) {
	start := time.Now()
	out, err := redeploy(ctx, ws, log, name, tag, stderr)
	out.Took = time.Since(start)
	return out, err
}

func redeploy(ctx context.Context, ws workspace.Workspace, log *slog.Logger, name tenant.Name, tag string, stderr io.Writer) (deploy.Outcome, error) {
	tenantName := string(name)
	where := fmt.Sprintf("redeploy %s from %s", tenantName, tag)
	if want := deploytag.Prefix + tenantName + "/production/"; !strings.HasPrefix(tag, want) || strings.Contains(strings.TrimPrefix(tag, want), "/") {
		return deploy.Outcome{}, fmt.Errorf("%s: the tag must be one of %s's production deploy tags (%s<stamp>); list them with `git tag -l '%s*'`", where, tenantName, want, want)
	}
	if err := tenant.Check(ws, tenantName); err != nil {
		return deploy.Outcome{}, fmt.Errorf("%s: %w", where, err)
	}
	opts, err := deploy.Prepare(ctx, ws, log, stderr)
	if err != nil {
		return deploy.Outcome{}, fmt.Errorf("%s: %w", where, err)
	}
	// Deploys of this checkout lock here; the worktree's pipeline locks in its own .state.
	held, err := lock.Acquire(ws.LocksDir(), tenantName, string(tenant.Production), lock.Options{Command: "redeploy " + tenantName + " " + tag, Log: log, Context: ctx})
	if err != nil {
		return deploy.Outcome{}, fmt.Errorf("%s: %w", where, err)
	}
	defer func() { _ = held.Release() }()

	if opts.SandboxToken == nil {
		// The worktree has no .env.deploy: read the token here and hand it over by name only.
		tok, err := creds.Find(tenantName, ws.Root, opts.Lookup)
		if err != nil {
			return deploy.Outcome{}, fmt.Errorf("%s: %w", where, err)
		}
		opts.Lookup = func(k string) (string, bool) {
			if k == tok.Var {
				return tok.Value.Reveal(), true
			}
			return "", false
		}
	}
	dir := filepath.Join(ws.StateDir(), "redeploy", tenantName+"-"+filepath.Base(tag))
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return deploy.Outcome{}, fmt.Errorf("%s: %w", where, err)
	}
	cleanup, err := deploytag.Checkout(ctx, ws.Root, tag, dir)
	if err != nil {
		return deploy.Outcome{}, err
	}
	defer func() {
		if err := cleanup(); err != nil {
			log.Warn("removing the redeploy worktree failed; remove it with `git worktree remove --force`", "dir", dir, "err", err)
		}
	}()
	wt := workspace.Workspace{Root: dir}
	if same(filepath.Join(ws.Root, "package-lock.json"), filepath.Join(dir, "package-lock.json")) {
		if err := os.Symlink(ws.NodeModules(), wt.NodeModules()); err != nil {
			return deploy.Outcome{}, fmt.Errorf("%s: %w", where, err)
		}
	}
	opts.Workspace = wt
	opts.Tenant, opts.Env, opts.Force = name, tenant.Production, true
	opts.Command = "redeploy " + tenantName + " " + tag
	// The tree passed validation when it was deployed; today's rules must not block going
	// back to it in an incident.
	opts.Validate = nil
	out, runErr := deploy.Run(ctx, opts)
	if out.RecordFile == "" {
		return out, runErr
	}
	rec := out.Record
	rec.Reason = "redeploy of " + tag
	entry, werr := history.Open(ws.DeploymentsDir()).Write(rec)
	out.Record, out.RecordFile = rec, entry.Path
	if werr != nil {
		return out, fmt.Errorf("%s: copying the record into %s: %w (the deploy itself %s)", where, ws.DeploymentsDir(), werr, rec.Status)
	}
	return out, runErr
}

func same(a, b string) bool {
	x, err1 := os.ReadFile(a)
	y, err2 := os.ReadFile(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
