package deploy

import (
	"context"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/preflight"
)

// preflightStep checks the tenant's account before anything is built, locked or uploaded: a
// deploy that would go live without its KV namespace, or replace a Worker whose required
// secrets are gone, stops here and names the fix. A first deploy goes ahead without the
// secrets (they can only be set on an existing Worker): it warns, and the record lists them.
type preflightStep struct{}

func (preflightStep) Name() string { return "preflight" }
func (preflightStep) Run(ctx context.Context, st *State) error {
	rep, ok := st.Opts.Preflight.usable(string(st.Opts.Tenant), string(st.Env), time.Now())
	if !ok {
		var err error
		rep, err = preflight.Run(ctx, st.API, preflight.Target{
			Tenant: string(st.Opts.Tenant), Resolved: st.Resolved, RequiredSecrets: st.Tenant.Config.RequiredSecrets,
		})
		if err != nil {
			return err
		}
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

// CheckedPreflight is a preflight report made before the deploy started, and when.
type CheckedPreflight struct {
	Report preflight.Report
	At     time.Time
}

// preflightFresh is how long a fleet gate's report stands in for the deploy's own check. It
// covers a fleet deploy whose tenants start right after the gate (the gate's requests are not
// paid twice); a tenant that starts later (a later wave, after a bake) checks again, since
// an account can change in the meantime.
const preflightFresh = 2 * time.Minute

// usable returns the report when it is this tenant/env's and still fresh at now.
func (c *CheckedPreflight) usable(tenantName, env string, now time.Time) (preflight.Report, bool) {
	if c == nil || c.Report.Tenant != tenantName || c.Report.Env != env || now.Sub(c.At) > preflightFresh || now.Before(c.At) {
		return preflight.Report{}, false
	}
	return c.Report, true
}
