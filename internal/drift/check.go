package drift

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// Report is the drift result of one tenant/env; its JSON form is the documented
// `drift -json=true` element.
type Report struct {
	Tenant string `json:"tenant"`
	Env    string `json:"env"`
	Worker string `json:"worker,omitempty"`
	Status Status `json:"status"`
	// LiveVersion is the version serving, when one is.
	LiveVersion string  `json:"live_version_id,omitempty"`
	Changes     Changes `json:"changes"`
	// Error says why the status is "error" (never a token).
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"-"`
}

// Input is everything Check needs for one tenant/env.
type Input struct {
	Worker  string
	Desired Desired
	Reader  cfapi.Reader
}

// Prepare builds the Input of one tenant for env: load and resolve the tenant, build the
// bundle, find the token and make the client. Errors end that tenant's check as "error". The
// env is parsed once, by the command, before any tenant is prepared.
type Prepare func(ctx context.Context, name string, env tenant.Env) (Input, error)

// Check compares one tenant/env.
func Check(ctx context.Context, name string, env tenant.Env, prepare Prepare) Report {
	start := time.Now()
	rep := Report{Tenant: name, Env: string(env), Changes: Changes{Added: []Change{}, Removed: []Change{}, Changed: []Change{}}}
	fail := func(err error) Report {
		rep.Status, rep.Error, rep.Duration = Error, err.Error(), time.Since(start)
		return rep
	}
	in, err := prepare(ctx, name, env)
	if err != nil {
		return fail(fmt.Errorf("drift %s/%s: %w", name, env, err))
	}
	rep.Worker = in.Worker
	live, err := ReadLive(ctx, in.Reader, in.Worker)
	if err != nil {
		return fail(fmt.Errorf("drift %s/%s (%s): %w", name, env, in.Worker, err))
	}
	rep.LiveVersion = live.VersionID
	status, ch := Compare(in.Desired, live)
	rep.Status = status
	if ch.Added != nil {
		rep.Changes.Added = ch.Added
	}
	if ch.Removed != nil {
		rep.Changes.Removed = ch.Removed
	}
	if ch.Changed != nil {
		rep.Changes.Changed = ch.Changed
	}
	rep.Duration = time.Since(start)
	return rep
}

// CheckAll checks every tenant, up to parallel at once, and returns the reports in the
// order of tenants; done, when not nil, gets each report as soon as it is ready. Tenants
// live in different accounts with their own tokens, so running them at once does not crowd
// one token's budget; within a token, cfapi paces the requests.
func CheckAll(ctx context.Context, tenants []string, env tenant.Env, prepare Prepare, parallel int, done func(Report)) []Report {
	out := make([]Report, len(tenants))
	var g errgroup.Group
	g.SetLimit(max(parallel, 1))
	for i, t := range tenants {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				out[i] = Report{Tenant: t, Env: string(env), Status: Error, Error: fmt.Sprintf("drift %s/%s: %v before it started", t, env, err),
					Changes: Changes{Added: []Change{}, Removed: []Change{}, Changed: []Change{}}}
			} else {
				out[i] = Check(ctx, t, env, prepare)
			}
			if done != nil {
				done(out[i])
			}
			return nil
		})
	}
	_ = g.Wait() // every task reports in out; none returns an error
	return out
}
