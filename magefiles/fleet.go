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
	ctx, stop := mutating(ctx)
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
	mg.SerialCtxDeps(ctx, NodeModules, mg.F(treeChecks, flag(emergency, false)))
	_, err = fleet.DeployAll(ctx, fleet.DeployAllOptions{
		Env: e, Only: flag(only, ""), Canary: flag(canary, ""), Parallel: flag(parallel, 1),
		ContinueOnError: flag(continueOnError, false), JSON: flag(json, false), Workspace: ws,
		Waves: flag(waves, ""), Bake: bakeFor, Rollout: ro, BuildEach: flag(buildEach, false),
		Prepare: func(ctx context.Context) (deploy.Options, error) {
			o, err := deploy.Prepare(ctx, ws, log, os.Stderr)
			o.Checks = checked
			return o, err
		},
		Stdout: os.Stdout, Stderr: os.Stderr,
	})
	return err
}
