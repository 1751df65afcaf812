package lease

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/atomicfile"
)

// Namespaces of the lease refs: real deploys and rehearsals in the sandbox never share one.
const (
	RealNamespace      = "refs/leases"
	RehearsalNamespace = "refs/rehearsal-leases"
)

// DefaultTTL is a lease's time to live: far longer than any one step (Cloudflare takes no
// fencing token, so a paused holder may still act once), renewed every third of it.
const DefaultTTL = 10 * time.Minute

// Store reads and changes the leases of one checkout's remote.
type Store struct {
	// Repo is the checkout; Remote the git remote name (the one records:push uses).
	Repo, Remote string
	// Namespace is RealNamespace or RehearsalNamespace ("" means RealNamespace).
	Namespace string
	// SeenDir keeps when this machine first saw each lease unchanged (.state/leases/seen).
	SeenDir string
	// now is the reader's clock, replaced in tests.
	now func() time.Time
}

func (s Store) remote() remote {
	ns := s.Namespace
	if ns == "" {
		ns = RealNamespace
	}
	return remote{repo: s.Repo, name: s.Remote, ns: ns}
}

func (s Store) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// Lease is a lease as this machine sees it now.
type Lease struct {
	Tenant  string  `json:"tenant"`
	Env     string  `json:"env"`
	Ref     string  `json:"ref"`
	OID     string  `json:"oid"`
	Content Content `json:"content"`
	// FirstSeen is when this machine first saw OID (its own clock); Unchanged how long since.
	FirstSeen time.Time     `json:"first_seen"`
	Unchanged time.Duration `json:"unchanged_ns"`
	// Expired: held, and unchanged for its whole time to live as this machine measured it.
	Expired bool `json:"expired"`
}

// Free reports whether the lease may be taken without breaking anything.
func (l Lease) Free() bool { return l.Content.State != Held }

// ExpiresIn is how long, by this machine's count, until the lease may be broken.
func (l Lease) ExpiresIn() time.Duration {
	return max(0, time.Duration(l.Content.TTL)-l.Unchanged)
}

// Describe is one line about the lease for people.
func (l Lease) Describe() string {
	c := l.Content
	switch c.State {
	case Held:
		s := fmt.Sprintf("%s/%s held by %s, taken %s", l.Tenant, l.Env, c.Holder, c.TakenAt.UTC().Format(time.RFC3339))
		if l.Expired {
			return s + fmt.Sprintf("; EXPIRED: unchanged for %s here (time to live %s); break it with `go tool mage lease:break %s %s -id=%s`",
				l.Unchanged.Round(time.Second), time.Duration(c.TTL), l.Tenant, l.Env, c.Holder.ID)
		}
		return s + fmt.Sprintf("; expires in %s unless renewed (counted from when this machine first saw it, %s ago)",
			l.ExpiresIn().Round(time.Second), l.Unchanged.Round(time.Second))
	case Broken:
		return fmt.Sprintf("%s/%s free: broken by %s (%s)", l.Tenant, l.Env, c.Holder, c.Note)
	}
	return fmt.Sprintf("%s/%s free: released by %s", l.Tenant, l.Env, c.Holder)
}

// Get reads the lease of tenant/env; ok is false when there has never been one.
func (s Store) Get(ctx context.Context, tenant, env string) (Lease, bool, error) {
	r := s.remote()
	ref := r.ref(tenant, env)
	var err error
	// A renewal between the listing and the fetch leaves the listed oid unfetched: list again.
	for range 3 {
		var refs map[string]string
		refs, err = r.lsRemote(ctx, ref)
		if err != nil {
			return Lease{}, false, fmt.Errorf("lease %s/%s: %w", tenant, env, err)
		}
		oid, ok := refs[ref]
		if !ok {
			return Lease{}, false, nil
		}
		var l Lease
		if l, err = s.observe(ctx, tenant, env, ref, oid); err == nil {
			return l, true, nil
		}
		if errors.Is(err, ErrUnreachable) {
			break
		}
	}
	return Lease{}, false, err
}

// List reads every lease on the remote, sorted by tenant then env.
func (s Store) List(ctx context.Context) ([]Lease, error) {
	r := s.remote()
	refs, err := r.lsRemote(ctx, r.ns+"/*")
	if err != nil {
		return nil, fmt.Errorf("leases: %w", err)
	}
	var out []Lease
	for ref, oid := range refs {
		tenant, env, ok := strings.Cut(strings.TrimPrefix(ref, r.ns+"/"), "/")
		if !ok {
			continue
		}
		l, err := s.observe(ctx, tenant, env, ref, oid)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b Lease) int { return strings.Compare(a.Tenant+"/"+a.Env, b.Tenant+"/"+b.Env) })
	return out, nil
}

// observe reads oid's content and judges its age by this machine's first sight of it.
func (s Store) observe(ctx context.Context, tenant, env, ref, oid string) (Lease, error) {
	c, err := s.remote().content(ctx, ref, oid)
	if err != nil {
		return Lease{}, fmt.Errorf("lease %s/%s: %w", tenant, env, err)
	}
	now := s.clock()
	first := s.firstSeen(ref, oid, now)
	l := Lease{Tenant: tenant, Env: env, Ref: ref, OID: oid, Content: c, FirstSeen: first, Unchanged: now.Sub(first)}
	l.Expired = c.State == Held && l.Unchanged >= time.Duration(c.TTL)
	return l, nil
}

type sighting struct {
	OID       string    `json:"oid"`
	FirstSeen time.Time `json:"first_seen"`
}

// firstSeen returns when this machine first saw ref at oid, remembering now if it is new. A
// folder that cannot be written only costs memory: the lease then looks fresh every time,
// which errs on the side of not breaking it.
func (s Store) firstSeen(ref, oid string, now time.Time) time.Time {
	if s.SeenDir == "" {
		return now
	}
	path := filepath.Join(s.SeenDir, strings.ReplaceAll(strings.TrimPrefix(ref, "refs/"), "/", "_")+".json")
	var seen sighting
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &seen) == nil && seen.OID == oid && !seen.FirstSeen.After(now) {
		return seen.FirstSeen
	}
	b, _ := json.Marshal(sighting{OID: oid, FirstSeen: now})
	if os.MkdirAll(s.SeenDir, 0o755) == nil {
		_ = atomicfile.Write(path, b, atomicfile.Options{Perm: 0o644})
	}
	return now
}
