package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
)

// HeldError is a refused take: someone else holds the lease.
type HeldError struct {
	Lease Lease
}

// Is makes a refused take match lock.ErrTeamHeld.
func (e *HeldError) Is(target error) bool { return target == lock.ErrTeamHeld }

func (e *HeldError) Error() string {
	l := e.Lease
	hint := "wait for it (-wait=15m waits up to 15 minutes, then takes over if it expired)"
	if l.Expired {
		hint = fmt.Sprintf("that lease has expired: take it over with -wait, or break it with `go tool mage lease:break %s %s -id=%s`", l.Tenant, l.Env, l.Content.Holder.ID)
	}
	return fmt.Sprintf("%s/%s is leased to %s since %s; %s", l.Tenant, l.Env, l.Content.Holder,
		l.Content.TakenAt.UTC().Format(time.RFC3339), hint)
}

// LostError says a held lease is no longer this run's: stop before changing Cloudflare.
type LostError struct {
	Tenant, Env string
	Why         string
}

func (e *LostError) Error() string {
	return fmt.Sprintf("%s/%s: this run no longer holds its lease (%s); stopped before the next change to Cloudflare", e.Tenant, e.Env, e.Why)
}

// TakeOptions tune Take.
type TakeOptions struct {
	Holder Holder // ID is filled in
	TTL    time.Duration
	// Wait is how long to wait for a held lease to be released or to expire (0: refuse at once).
	Wait time.Duration
	// Poll is the pause between reads while waiting (default TTL/10, within 200 ms..5 s).
	Poll time.Duration
	Log  *slog.Logger
}

// Taken is a lease this process holds, renewed in the background until Release.
type Taken struct {
	Tenant, Env, Ref string
	Content          Content
	// Replaced is the lease this take broke because it had expired, if any.
	Replaced *Lease

	store  Store
	log    *slog.Logger
	mu     sync.Mutex
	oid    string
	lost   error
	okAt   time.Time // when the remote last confirmed our oid (this process's monotonic clock)
	stop   chan struct{}
	done   chan struct{}
	closed sync.Once
	relErr error
}

// Take takes the lease of tenant/env: creates it if absent, or replaces a released, broken
// or (by this machine's count) expired one by compare-and-swap on the oid read. A held lease
// refuses with *HeldError naming its holder, after waiting up to opt.Wait.
func (s Store) Take(ctx context.Context, tenant, env string, opt TakeOptions) (*Taken, error) {
	if opt.TTL <= 0 {
		opt.TTL = DefaultTTL
	}
	if opt.Poll <= 0 {
		opt.Poll = min(max(opt.TTL/10, 200*time.Millisecond), 5*time.Second)
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	r := s.remote()
	ref := r.ref(tenant, env)
	h := opt.Holder
	h.ID = newID()
	now := s.clock()
	c := Content{State: Held, Tenant: tenant, Env: env, Holder: h, TakenAt: now.UTC(), RenewedAt: now.UTC(), TTL: Duration(opt.TTL)}
	deadline := time.Now().Add(opt.Wait)
	said := false
	for {
		// Create if absent: the cheap path, one push.
		oid, err := r.write(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("lease %s/%s: %w", tenant, env, err)
		}
		err = r.cas(ctx, ref, "", oid)
		if err == nil {
			return s.held(tenant, env, ref, oid, c, nil, opt.Log), nil
		}
		if !errors.Is(err, errLost) {
			return nil, fmt.Errorf("lease %s/%s: %w", tenant, env, err)
		}
		// It exists: read it again before saying who holds it.
		cur, ok, err := s.Get(ctx, tenant, env)
		if err != nil {
			return nil, err
		}
		if ok && (cur.Free() || cur.Expired) {
			next := c
			var replaced *Lease
			if cur.Expired {
				prev := cur.Content.Holder
				next.Replaced = &prev
				next.Note = fmt.Sprintf("took over lease %s of %s: unchanged for %s here, past its time to live %s",
					prev.ID, prev.Who, cur.Unchanged.Round(time.Second), time.Duration(cur.Content.TTL))
				replaced = &cur
			}
			oid, err := r.write(ctx, next)
			if err != nil {
				return nil, fmt.Errorf("lease %s/%s: %w", tenant, env, err)
			}
			err = r.cas(ctx, ref, cur.OID, oid)
			if err == nil {
				if replaced != nil {
					opt.Log.Warn("took over an expired lease", "tenant", tenant, "env", env, "holder", replaced.Content.Holder.String(), "unchanged_for", cur.Unchanged.Round(time.Second))
				}
				return s.held(tenant, env, ref, oid, next, replaced, opt.Log), nil
			}
			if !errors.Is(err, errLost) {
				return nil, fmt.Errorf("lease %s/%s: %w", tenant, env, err)
			}
			continue // someone else changed it first: read again
		}
		if !ok {
			continue // released and deleted between our push and our read
		}
		if time.Now().After(deadline) {
			return nil, &HeldError{Lease: cur}
		}
		if !said {
			opt.Log.Info("waiting for the lease", "tenant", tenant, "env", env, "holder", cur.Content.Holder.String(), "expires_in", cur.ExpiresIn().Round(time.Second))
			said = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lease %s/%s: stopped waiting for %s: %w", tenant, env, cur.Content.Holder, ctx.Err())
		case <-time.After(min(opt.Poll, max(time.Until(deadline), 10*time.Millisecond))):
		}
	}
}

func (s Store) held(tenant, env, ref, oid string, c Content, replaced *Lease, log *slog.Logger) *Taken {
	t := &Taken{Tenant: tenant, Env: env, Ref: ref, Content: c, Replaced: replaced, store: s, log: log,
		oid: oid, okAt: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go t.renew()
	return t
}

// renew writes a new oid every third of the time to live, so readers elsewhere see the lease
// change and restart their count. A refused renewal means someone broke the lease: the run
// learns it at its next Check.
func (t *Taken) renew() {
	defer close(t.done)
	every := time.Duration(t.Content.TTL) / 3
	for {
		select {
		case <-t.stop:
			return
		case <-time.After(every):
		}
		t.mu.Lock()
		old, c := t.oid, t.Content
		t.mu.Unlock()
		c.Renewals++
		c.RenewedAt = t.store.clock().UTC()
		ctx, cancel := context.WithTimeout(context.Background(), max(every, 10*time.Second))
		r := t.store.remote()
		oid, err := r.write(ctx, c)
		if err == nil {
			err = r.cas(ctx, t.Ref, old, oid)
		}
		cancel()
		t.mu.Lock()
		switch {
		case err == nil:
			t.oid, t.Content, t.okAt = oid, c, time.Now()
		case errors.Is(err, errLost):
			t.lost = &LostError{Tenant: t.Tenant, Env: t.Env, Why: "someone broke or took it over; `go tool mage lease:status` shows who"}
		default:
			t.log.Warn("could not renew the lease; trying again", "tenant", t.Tenant, "env", t.Env, "err", err)
		}
		lost := t.lost != nil
		t.mu.Unlock()
		if lost {
			return
		}
	}
}

// Check confirms on the remote that the lease is still this run's: call it before each step
// that changes Cloudflare. While the remote cannot be reached, a confirmation younger than a
// third of the time to live stands in (nobody can have broken it sooner than its expiry).
func (t *Taken) Check(ctx context.Context) error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	lost, oid, okAt := t.lost, t.oid, t.okAt
	t.mu.Unlock()
	if lost != nil {
		return lost
	}
	refs, err := t.store.remote().lsRemote(ctx, t.Ref)
	if err != nil {
		if time.Since(okAt) < time.Duration(t.Content.TTL)/3 {
			return nil
		}
		return &LostError{Tenant: t.Tenant, Env: t.Env, Why: fmt.Sprintf("its remote has not answered for %s: %v", time.Since(okAt).Round(time.Second), err)}
	}
	if got := refs[t.Ref]; got != oid {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.oid != oid { // renewed meanwhile: check that one instead
			return nil
		}
		t.lost = &LostError{Tenant: t.Tenant, Env: t.Env, Why: fmt.Sprintf("the remote's %s is now %s, not this run's %s", t.Ref, short(got), short(oid))}
		return t.lost
	}
	t.mu.Lock()
	t.okAt = time.Now()
	t.mu.Unlock()
	return nil
}

// OID is the lease's current oid on the remote (as last written by this run).
func (t *Taken) OID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.oid
}

// Release stops renewing and marks the lease released by compare-and-swap. A lease lost
// meanwhile is left to whoever has it. Calling it again does nothing.
func (t *Taken) Release(ctx context.Context) error {
	if t == nil {
		return nil
	}
	t.closed.Do(func() {
		close(t.stop)
		<-t.done
		t.mu.Lock()
		old, c, lost := t.oid, t.Content, t.lost
		t.mu.Unlock()
		if lost != nil {
			return
		}
		c.State = Released
		c.RenewedAt = t.store.clock().UTC()
		r := t.store.remote()
		oid, err := r.write(ctx, c)
		if err == nil {
			err = r.cas(ctx, t.Ref, old, oid)
		}
		if errors.Is(err, errLost) {
			return
		}
		if err != nil {
			t.relErr = fmt.Errorf("releasing the lease of %s/%s: %w (it expires by itself after %s)", t.Tenant, t.Env, err, time.Duration(t.Content.TTL))
		}
	})
	return t.relErr
}
