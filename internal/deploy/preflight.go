package deploy

import (
	"context"

	"github.com/rainbowsmoke/crispy-enigma/internal/preflight"
)

// preflightStep checks the tenant's account before anything is built, locked or uploaded: a
// deploy that would go live without its KV namespace, or replace a Worker whose required
// secrets are gone, stops here and names the fix. A first deploy goes ahead without the
// secrets (they can only be set on an existing Worker): it warns, and the record lists them.
type preflightStep struct{}

func (preflightStep) Name() string { return "preflight" }
func (preflightStep) Run(ctx context.Context, st *State) error {
	rep, err := preflight.Run(ctx, st.API, preflight.Target{
		Tenant: string(st.Opts.Tenant), Resolved: st.Resolved, RequiredSecrets: st.Tenant.Config.RequiredSecrets,
	})
	if err != nil {
		return err
	}
	for _, c := range rep.Checks {
		if c.Status == preflight.Warn {
			st.notef("preflight", "warning: %s; set them after the deploy: %s", c.Detail, c.Fix)
		}
	}
	if rep.FirstDeploy {
		st.Record.MissingSecrets = rep.MissingSecrets
	}
	return rep.Err()
}
