//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/devserver"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// Deploy puts tenants' Workers live.
type Deploy mg.Namespace

// Tenant deploys one tenant to dev, staging or production, health-checked, recorded.
//
// staging and production (prod): validate, build, skip if unchanged, lock, deploy,
// health-check, roll back on failure, record. dev runs the Worker locally under wrangler dev
// on the tenant's dev port instead. Exits 1 unless deployed or unchanged.
//
// Before staging or production, the fast checks of this tree run (lint, typecheck, unit
// tests), unless this exact tree already passed them.
func (Deploy) Tenant(ctx context.Context, tenantName, env string,
	dryRun *bool, // print the plan and stop: nothing is locked, uploaded or recorded
	force *bool, // deploy even when the live version already runs this tree
	emergency *bool, // skip the tree's checks except the Worker's typecheck (the record says so)
	json *bool, // print the outcome as one JSON document on stdout
	rollout *string, // gradual rollout: the new version's percentages, e.g. 10,50,100
	bake *string, // with -rollout: how long each step holds while both versions are sampled (e.g. 2m)
	rolloutFallback *string, // with -rollout: "immediate" deploys at once where a rollout is impossible
	wait *string, // wait up to this long for another machine's lease on the tenant/env (e.g. 15m)
	localLockOnly *bool, // go ahead on this machine's lock alone when the lease remote cannot be reached (recorded)
) error {
	ctx, stop := mutating(ctx)
	defer stop()
	if err := leaseFlags(wait, localLockOnly); err != nil {
		return err
	}
	name, e, err := request("deploy", tenantName, env)
	if err != nil {
		return err
	}
	ro, err := deploy.RolloutFlags(flag(rollout, ""), flag(bake, ""), flag(rolloutFallback, ""))
	if err != nil {
		return fmt.Errorf("deploy %s: %w", tenantName, err)
	}
	ws, log, err := setup()
	if err != nil {
		return err
	}
	if e != tenant.Dev {
		mg.CtxDeps(ctx, NodeModules)
		if !flag(dryRun, false) {
			mg.CtxDeps(ctx, mg.F(treeChecks, flag(emergency, false)))
		}
		out, err := deploy.Command(ctx, ws, log, name, e, deploy.Flags{
			DryRun: flag(dryRun, false), Force: flag(force, false), Checks: checked, Rollout: ro,
		}, os.Stderr)
		if werr := deploy.WriteOutcome(os.Stdout, ws.Root, "deploy:tenant", out, flag(json, false)); werr != nil && err == nil {
			err = werr
		}
		if err != nil || flag(dryRun, false) {
			return err
		}
		return finalHealth(ctx, ws, log, name, e)
	}
	mg.CtxDeps(ctx, NodeModules)
	srv, _, err := devserver.Start(ctx, devserver.Options{Workspace: ws, Tenant: tenantName, Log: log, Progress: os.Stderr})
	if err != nil {
		return err
	}
	if flag(json, false) {
		return report.JSON(os.Stdout, srv)
	}
	fmt.Printf("%s/dev: running at %s (health %s/health, pid %d, log %s); stop with `go tool mage dev:stop %s`\n",
		tenantName, srv.URL, srv.URL, srv.PID, srv.LogPath, tenantName)
	return nil
}

// Status shows each tenant's live traffic split and the rollout record behind it.
//
// A split is a gradual rollout in progress (or stopped: Ctrl-C mid-bake leaves it as it was);
// settle it with deploy:promote or deploy:abort.
func (Deploy) Status(ctx context.Context, target, env string,
	json *bool, // print the splits as one JSON array on stdout
) error {
	target, e, err := requestAll("deploy:status", target, env)
	if err != nil {
		return err
	}
	if err := e.RequireCloud(splitRefusal); err != nil {
		return fmt.Errorf("deploy:status %s: %w", target, err)
	}
	ws, log, err := setup()
	if err != nil {
		return err
	}
	sts, err := deploy.StatusCommand(ctx, ws, log, target, e, os.Stderr)
	if sts == nil && err != nil {
		return err // refused: nothing was read
	}
	if werr := deploy.WriteStatuses(os.Stdout, sts, flag(json, false)); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	return deploy.StatusProblem(sts)
}

// Promote ends a split rollout: the new version alone at 100%, verified and recorded.
//
// Takes the tenant/env's deploy lock; a promoted version that does not answer healthy is taken
// back to the old one (rolled_back).
func (Deploy) Promote(ctx context.Context, tenantName, env string,
	json *bool, // print the outcome as one JSON document on stdout
	wait *string, // wait up to this long for another machine's lease on the tenant/env (e.g. 15m)
	localLockOnly *bool, // go ahead on this machine's lock alone when the lease remote cannot be reached (recorded)
) error {
	if err := leaseFlags(wait, localLockOnly); err != nil {
		return err
	}
	return settle(ctx, tenantName, env, deploy.Promote, flag(json, false))
}

// Abort ends a split rollout: the old version alone at 100%, verified and recorded.
//
// Takes the tenant/env's deploy lock; the record is a rollback record.
func (Deploy) Abort(ctx context.Context, tenantName, env string,
	json *bool, // print the outcome as one JSON document on stdout
	wait *string, // wait up to this long for another machine's lease on the tenant/env (e.g. 15m)
	localLockOnly *bool, // go ahead on this machine's lock alone when the lease remote cannot be reached (recorded)
) error {
	if err := leaseFlags(wait, localLockOnly); err != nil {
		return err
	}
	return settle(ctx, tenantName, env, deploy.Abort, flag(json, false))
}

// splitRefusal is why deploy:status, deploy:promote and deploy:abort refuse dev.
const splitRefusal = "; a split lives on Cloudflare: use staging or production"

func settle(ctx context.Context, tenantName, env string, a deploy.Action, json bool) error {
	ctx, stop := mutating(ctx)
	defer stop()
	name, e, err := request("deploy:"+string(a), tenantName, env)
	if err != nil {
		return err
	}
	if err := e.RequireCloud(splitRefusal); err != nil {
		return fmt.Errorf("deploy:%s %s: %w", a, name, err)
	}
	ws, log, err := setup()
	if err != nil {
		return err
	}
	out, err := deploy.SettleCommand(ctx, ws, log, name, e, a, os.Stderr)
	if werr := deploy.WriteOutcome(os.Stdout, ws.Root, "deploy:"+string(a), out, json); werr != nil && err == nil {
		err = werr
	}
	return err
}
