//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/lease"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
)

// Lease shows and breaks the leases that keep one deploy per tenant/env across machines.
type Lease mg.Namespace

// Status shows who holds the lease of a tenant (or all) and env on the team's git remote.
//
// Expiry is counted from when this machine first saw the lease unchanged, never by another
// machine's clock: run it again later to see an abandoned lease expire.
func (Lease) Status(ctx context.Context, target, env string,
	json *bool, // print the leases as one JSON array on stdout
) error {
	t, e, err := requestRecords("lease:status", target, env)
	if err != nil {
		return err
	}
	_, _, err = setup()
	if err != nil {
		return err
	}
	if guard.Store.Remote == "" {
		return fmt.Errorf("lease:status: this checkout has no git remote (origin, or the one %s names): deploys here are kept apart by the local lock alone", lease.EnvRemote)
	}
	all, err := guard.Store.List(ctx)
	if err != nil {
		return fmt.Errorf("lease:status: %w", err)
	}
	out := []lease.Lease{}
	for _, l := range all {
		if (t == "" || l.Tenant == string(t)) && (e == "" || l.Env == string(e)) {
			out = append(out, l)
		}
	}
	if flag(json, false) {
		return report.JSON(os.Stdout, out)
	}
	if len(out) == 0 {
		fmt.Printf("lease:status: no lease on %s for %s %s\n", guard.Store.Remote, target, env)
		return nil
	}
	for _, l := range out {
		fmt.Println(l.Describe())
	}
	return nil
}

// Break breaks a tenant/env's expired (or, with -force, named) lease, recorded.
//
// -id must be the holder's lease id as lease:status shows it, so nobody breaks the wrong lease;
// of two breakers, one wins. Without -force a lease breaks only once it has been unchanged for
// its time to live as this machine counts it.
func (Lease) Break(ctx context.Context, tenantName, env string,
	id *string, // the lease id of the holder to break (lease:status shows it; required)
	force *bool, // break it even before it expires: only when you know that run is gone
	json *bool, // print the broken lease as JSON on stdout
) error {
	n, e, err := request("lease:break", tenantName, env)
	if err != nil {
		return err
	}
	if flag(id, "") == "" {
		return fmt.Errorf("lease:break %s %s: -id=<lease id> is required; `go tool mage lease:status %s %s` shows it", n, e, n, e)
	}
	_, log, err := setup()
	if err != nil {
		return err
	}
	if guard.Store.Remote == "" {
		return fmt.Errorf("lease:break %s %s: this checkout has no git remote, so there is no lease to break (a local lock ends with its process)", n, e)
	}
	l, err := guard.Break(ctx, string(n), string(e), flag(id, ""), flag(force, false))
	if err != nil {
		return err
	}
	log.Warn("broke a lease", "tenant", n, "env", e, "holder", l.Content.Replaced.String(), "note", l.Content.Note)
	if flag(json, false) {
		return report.JSON(os.Stdout, l)
	}
	fmt.Printf("lease:break %s/%s: %s\n", n, e, l.Content.Note)
	return nil
}
