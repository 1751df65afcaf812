package lease

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// BreakError is a refused lease:break, with the lease as it was read.
type BreakError struct {
	Lease  Lease
	Reason string
}

func (e *BreakError) Error() string {
	return fmt.Sprintf("lease:break %s/%s: %s", e.Lease.Tenant, e.Lease.Env, e.Reason)
}

// Break marks the lease of tenant/env broken by compare-and-swap on the oid read, naming the
// holder it broke. It refuses a lease that is not held, whose holder's id is not id, or
// (without force) that has not expired by this machine's count. Of two breakers racing, the
// second's swap is refused: it gets an error saying the lease changed meanwhile.
func (s Store) Break(ctx context.Context, tenant, env, id string, force bool, breaker Holder) (Lease, error) {
	cur, ok, err := s.Get(ctx, tenant, env)
	if err != nil {
		return Lease{}, err
	}
	if !ok {
		return Lease{}, &BreakError{Lease: Lease{Tenant: tenant, Env: env}, Reason: "there is no lease to break"}
	}
	switch {
	case cur.Content.State != Held:
		return cur, &BreakError{Lease: cur, Reason: "the lease is not held (" + string(cur.Content.State) + "); nothing to break"}
	case cur.Content.Holder.ID != id:
		return cur, &BreakError{Lease: cur, Reason: fmt.Sprintf("the lease is held under id %s, not %s (held by %s); check `go tool mage lease:status %s %s`", cur.Content.Holder.ID, id, cur.Content.Holder, tenant, env)}
	case !cur.Expired && !force:
		return cur, &BreakError{Lease: cur, Reason: fmt.Sprintf("the lease of %s has not expired: it may still be running (expires in %s by this machine's count unless renewed; run lease:break again then, or add -force=true if you know that run is gone)",
			cur.Content.Holder, cur.ExpiresIn().Round(time.Second))}
	}
	breaker.ID = newID()
	now := s.clock().UTC()
	prev := cur.Content.Holder
	how := "expired"
	if !cur.Expired {
		how = "forced"
	}
	c := Content{State: Broken, Tenant: tenant, Env: env, Holder: breaker, TakenAt: now, RenewedAt: now, TTL: cur.Content.TTL, Replaced: &prev,
		Note: fmt.Sprintf("broke lease %s of %s (%s; unchanged for %s here)", prev.ID, prev.Who, how, cur.Unchanged.Round(time.Second))}
	r := s.remote()
	oid, err := r.write(ctx, c)
	if err != nil {
		return cur, fmt.Errorf("lease:break %s/%s: %w", tenant, env, err)
	}
	if err := r.cas(ctx, cur.Ref, cur.OID, oid); err != nil {
		if errors.Is(err, errLost) {
			return cur, &BreakError{Lease: cur, Reason: "the lease changed while breaking it (another breaker, a renewal or a release won); nothing done: look again with lease:status"}
		}
		return cur, fmt.Errorf("lease:break %s/%s: %w", tenant, env, err)
	}
	cur.OID, cur.Content = oid, c
	return cur, nil
}
