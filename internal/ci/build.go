package ci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// Built is one tenant environment bundled by a dry run.
type Built struct {
	Tenant string
	Env    tenant.Env
	Bundle wrangler.Bundle
}

// buildParallel is how many wrangler builds run at once: each is mostly one busy core
// (esbuild), and CI machines have two.
const buildParallel = 2

// BuildTenants bundles every environment that target's wrangler.jsonc defines (target is a
// tenant name or "all") with `wrangler deploy --dry-run` into BuildDir. It uses no token and
// no network. Every build is attempted; the error joins all failures, each naming its
// tenant/env. The caller must have run npmdeps.Ensure.
func BuildTenants(ctx context.Context, ws workspace.Workspace, wr wrangler.Runner, target string, out io.Writer) ([]Built, error) {
	names, err := targets(ws, target)
	if err != nil {
		return nil, err
	}
	type job struct {
		t   *tenant.Tenant
		env tenant.Env
	}
	var jobs []job
	for _, n := range names {
		t, err := tenant.Load(ctx, ws, n)
		if err != nil {
			return nil, fmt.Errorf("build %s: %w; run `go tool mage validate %s` for every problem", n, err, n)
		}
		for _, env := range tenant.Envs {
			if env == tenant.Dev || slices.Contains(t.EnvNames(), string(env)) {
				jobs = append(jobs, job{t, env})
			}
		}
	}

	var (
		built = make([]Built, len(jobs))
		errs  = make([]error, len(jobs))
		lines = make([]string, len(jobs))
		g     errgroup.Group
	)
	g.SetLimit(buildParallel)
	for i, j := range jobs {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				errs[i] = fmt.Errorf("build %s/%s: %w", j.t.Name, j.env, err)
				return nil
			}
			start := time.Now()
			inv := wrangler.Invocation{ConfigPath: j.t.WranglerPath(), Env: j.env.WranglerEnv(), AccountID: j.t.Config.AccountID}
			b, err := wr.Build(ctx, inv, ws.BundleDir(j.t.Name, string(j.env)))
			if err != nil {
				errs[i] = fmt.Errorf("build %s/%s: %w", j.t.Name, j.env, err)
				lines[i] = fmt.Sprintf("    FAIL  %s/%s (%s)", j.t.Name, j.env, round(time.Since(start)))
				return nil
			}
			built[i] = Built{Tenant: j.t.Name, Env: j.env, Bundle: b}
			rel, _ := filepath.Rel(ws.Root, b.Dir)
			lines[i] = fmt.Sprintf("    built %s/%s -> %s  worker %s  sha256 %s  (%s)",
				j.t.Name, j.env, filepath.ToSlash(rel), b.WorkerName, b.SHA256[:12], round(time.Since(start)))
			return nil
		})
	}
	_ = g.Wait() // each job's error is in errs, joined below in job order
	// Printed in tenant/env order once all are done: a few seconds, and a stable log.
	for _, l := range lines {
		if l != "" {
			fmt.Fprintln(out, l)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return built, nil
}

// targets turns "all" or one name into the tenant names to work on (see tenant.Select).
func targets(ws workspace.Workspace, target string) ([]string, error) {
	names, err := tenant.Select(ws, target)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	return names, nil
}
