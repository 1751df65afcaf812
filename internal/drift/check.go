package drift

import (
	"context"
	"fmt"
	"sync"
	"time"

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
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, t := range tenants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				out[i] = Check(ctx, t, env, prepare)
				<-sem
			case <-ctx.Done():
				out[i] = Report{Tenant: t, Env: string(env), Status: Error, Error: fmt.Sprintf("drift %s/%s: %v before it started", t, env, ctx.Err()),
					Changes: Changes{Added: []Change{}, Removed: []Change{}, Changed: []Change{}}}
			}
			if done != nil {
				done(out[i])
			}
		}()
	}
	wg.Wait()
	return out
}
