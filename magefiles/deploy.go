//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/fleet"
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
// Before staging or production, the deploy checks of this tree run: the Worker's typecheck
// (tsc --noEmit), the Worker's own tests, validation of this tenant and a dry-run build of its
// env (kept for the deploy), unless this exact tree already passed them or `go tool mage ci`
// (here, or on any machine sharing the remote's refs/notes/checks). A failed check refuses the
// deploy before anything is uploaded, with a record. The tool's own Go lint and tests do not
// run here: `go tool mage ci` runs them.
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
	ctx, stop := stoppable(ctx)
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
			mg.CtxDeps(ctx, mg.F(treeChecks, flag(emergency, false), tenantName, env))
		}
		out, err := deploy.Command(ctx, ws, log, name, e, deploy.Flags{
			DryRun: flag(dryRun, false), Force: flag(force, false), Checks: checked, Rollout: ro,
		}, os.Stderr)
		if werr := deploy.WriteOutcome(os.Stdout, ws.Root, "deploy:tenant", out, flag(json, false)); werr != nil && err == nil {
			err = werr
		}
		// The final health check is the deploy's last step, before its record: the exit code
		// and the record cannot disagree.
		return err
	}
	return startDev(ctx, ws, log, name, flag(json, false))
}

// All deploys every tenant to staging or production, with progress and a summary.
//
// Each tenant goes through the deploy:tenant pipeline. Sequential by default, stopping at the
// first failure (the rest are skipped). Exits 1 if any tenant failed. Tenants whose bundle
// would be the same are bundled once and each uploads that bundle (wrangler --no-bundle).
func (Deploy) All(ctx context.Context, env string,
	parallel *int, // deploy N tenants at once
	continueOnError *bool, // keep going after a tenant fails
	only *string, // deploy only these tenants (comma-separated)
	canary *string, // deploy this tenant first and stop if it fails
	emergency *bool, // skip the tree's checks except the Worker's typecheck (the records say so)
	json *bool, // print the summary as JSON on stdout
	waves *string, // deploy in waves of cumulative counts or shares, e.g. 1,25%,100% (canary first)
	bake *string, // the wait between waves (and, with -rollout, each rollout step's bake), e.g. 5m
	rollout *string, // each tenant a gradual rollout: the new version's percentages, e.g. 10,50,100
	rolloutFallback *string, // with -rollout: "immediate" deploys at once where a rollout is impossible
	buildEach *bool, // every tenant bundles its own upload instead of sharing one build
	wait *string, // wait up to this long for another machine's lease on each tenant (e.g. 15m)
	localLockOnly *bool, // go ahead on this machine's locks alone when the lease remote cannot be reached (recorded)
) error {
	ctx, stop := stoppable(ctx)
	defer stop()
	if err := leaseFlags(wait, localLockOnly); err != nil {
		return err
	}
	ws, log, err := setup()
	if err != nil {
		return err
	}
	ro, err := deploy.RolloutFlags(flag(rollout, ""), "", flag(rolloutFallback, ""))
	if err != nil {
		return fmt.Errorf("deploy:all: %w", err)
	}
	bakeFor, err := deploy.ParseBake(flag(bake, ""))
	if err != nil {
		return fmt.Errorf("deploy:all: %w", err)
	}
	if ro != nil {
		ro.Bake = bakeFor
	}
	e, err := tenant.ParseCloudEnv(env, fleet.DevRefusal)
	if err != nil {
		return fmt.Errorf("deploy:all: %w", err)
	}
	o := fleet.DeployAllOptions{
		Env: e, Only: flag(only, ""), Canary: flag(canary, ""), Parallel: flag(parallel, 1),
		ContinueOnError: flag(continueOnError, false), JSON: flag(json, false), Workspace: ws,
		Waves: flag(waves, ""), Bake: bakeFor, Rollout: ro, BuildEach: flag(buildEach, false),
		Prepare: func(ctx context.Context) (deploy.Options, error) {
			o, err := deploy.Prepare(ctx, ws, log, os.Stderr)
			o.Checks = checked
			return o, err
		},
		Stdout: os.Stdout, Stderr: os.Stderr,
	}
	// Every flag is refused before the tree's checks: a typo must not cost the whole gate.
	if _, err := fleet.CheckRequest(o); err != nil {
		return err
	}
	target := flag(only, "")
	if target == "" {
		target = "all"
	}
	mg.SerialCtxDeps(ctx, NodeModules, mg.F(treeChecks, flag(emergency, false), target, env))
	_, err = fleet.DeployAll(ctx, o)
	return err
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
	ctx, stop := stoppable(ctx)
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
