package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/gitrun"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
	"github.com/rainbowsmoke/crispy-enigma/internal/recordsbranch"
)

// The settings a command reads from its environment (flags of the targets set them too).
const (
	EnvRemote    = "DEPLOY_LEASE_REMOTE"     // the git remote of the leases (default origin)
	EnvTTL       = "DEPLOY_LEASE_TTL"        // a lease's time to live (default 10m)
	EnvWait      = "DEPLOY_LEASE_WAIT"       // how long to wait for a held lease (default 0: refuse)
	EnvLocalOnly = "DEPLOY_LEASE_LOCAL_ONLY" // "true": go ahead on the local lock when the remote is unreachable
)

// Config is what NewGuard needs.
type Config struct {
	Repo string // the checkout
	// StateDir is the checkout's .state (the sightings go in leases/seen).
	StateDir string
	// Rehearsal keeps the leases under RehearsalNamespace.
	Rehearsal bool
	// Records is the records folder a leased run writes to; with a remote, each take pulls the
	// records branch into it first (so the run's record continues the shared chain) and each
	// release pushes it (so the next holder, anywhere, continues from it). "" syncs nothing.
	Records string
	// Remote, TTL, Wait and LocalOnly override the environment when set.
	Remote    string
	TTL, Wait time.Duration
	LocalOnly bool
	Log       *slog.Logger
	Lookup    func(string) (string, bool) // os.LookupEnv outside tests
}

// Guard is the lease as internal/lock's team guard.
type Guard struct {
	Store     Store // Remote "" when the checkout has no remote: the local lock alone
	TTL, Wait time.Duration
	LocalOnly bool
	Log       *slog.Logger

	holder     func() Holder // who takes; ID and Command are filled in per take
	holderOnce sync.Once
	me         Holder

	// records and branch are the folder and branch synced around each lease (see Config.Records).
	records, branch string
	rehearsal       bool

	said sync.Once
	mu   sync.Mutex
	held map[string]*nested // ref -> this process's hold, so a nested lock (redeploy's worktree) shares it
}

// NewGuard builds the guard of the checkout at cfg.Repo from cfg and the environment.
func NewGuard(ctx context.Context, cfg Config) (*Guard, error) {
	if cfg.Lookup == nil {
		cfg.Lookup = os.LookupEnv
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	get := func(k string) string { v, _ := cfg.Lookup(k); return v }
	g := &Guard{TTL: DefaultTTL, Log: cfg.Log, held: map[string]*nested{}}
	for _, d := range []struct {
		v    string
		k    string
		into *time.Duration
	}{{get(EnvTTL), EnvTTL, &g.TTL}, {get(EnvWait), EnvWait, &g.Wait}} {
		if d.v == "" {
			continue
		}
		v, err := time.ParseDuration(d.v)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%s=%q: not a duration (e.g. 10m)", d.k, d.v)
		}
		*d.into = v
	}
	if cfg.TTL > 0 {
		g.TTL = cfg.TTL
	}
	if cfg.Wait > 0 {
		g.Wait = cfg.Wait
	}
	if v := get(EnvLocalOnly); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%s=%q: want true or false", EnvLocalOnly, v)
		}
		g.LocalOnly = b
	}
	g.LocalOnly = g.LocalOnly || cfg.LocalOnly
	name := cfg.Remote
	if name == "" {
		name = get(EnvRemote)
	}
	if name == "" {
		name = "origin"
	}
	ns := RealNamespace
	if cfg.Rehearsal {
		ns = RehearsalNamespace
	}
	g.Store = Store{Repo: cfg.Repo, Namespace: ns, SeenDir: filepath.Join(cfg.StateDir, "leases", "seen")}
	g.records, g.rehearsal, g.branch = cfg.Records, cfg.Rehearsal, recordsbranch.DefaultBranch
	if cfg.Rehearsal {
		g.branch = recordsbranch.RehearsalBranch
	}
	if _, err := gitrun.Run(ctx, cfg.Repo, nil, nil, "remote", "get-url", name); err == nil {
		g.Store.Remote = name
	}
	// Who and which commit are asked of git only when a lease is taken: most commands never do.
	g.holder = func() Holder {
		host, _ := os.Hostname()
		p := history.Find(context.WithoutCancel(ctx), cfg.Repo, cfg.Lookup)
		return Holder{Who: p.Actor, Host: host, PID: os.Getpid(), Commit: p.GitSHA, RunURL: runURL(get)}
	}
	return g, nil
}

// runURL is the CI run's address on GitHub Actions, "" elsewhere.
func runURL(get func(string) string) string {
	if get("GITHUB_RUN_ID") == "" || get("GITHUB_REPOSITORY") == "" {
		return ""
	}
	server := get("GITHUB_SERVER_URL")
	if server == "" {
		server = "https://github.com"
	}
	return server + "/" + get("GITHUB_REPOSITORY") + "/actions/runs/" + get("GITHUB_RUN_ID")
}

// Take implements lock.Team.
func (g *Guard) Take(ctx context.Context, tenant, env, command string) (lock.TeamHold, error) {
	if g.Store.Remote == "" {
		g.said.Do(func() {
			g.Log.Info("this checkout has no git remote: the local lock alone keeps deploys of a tenant apart (no lease)")
		})
		return local{note: "local lock only: no git remote to hold a lease"}, nil
	}
	ref := g.Store.remote().ref(tenant, env)
	g.mu.Lock()
	if n, ok := g.held[ref]; ok {
		n.count++
		g.mu.Unlock()
		return n, nil
	}
	g.mu.Unlock()
	g.holderOnce.Do(func() {
		if g.holder != nil {
			g.me = g.holder()
		}
	})
	h := g.me
	h.Command = command
	t, err := g.Store.Take(ctx, tenant, env, TakeOptions{Holder: h, TTL: g.TTL, Wait: g.Wait, Log: g.Log})
	if errors.Is(err, ErrUnreachable) {
		if g.LocalOnly {
			g.Log.Warn("the lease remote cannot be reached; going ahead on this machine's lock alone, as asked (the record says so)", "tenant", tenant, "env", env, "remote", g.Store.Remote, "err", err)
			return local{note: "local lock only (-localLockOnly): the lease remote " + g.Store.Remote + " could not be reached"}, nil
		}
		return nil, fmt.Errorf("%s/%s: %w; nothing was changed. Retry once %s answers, or pass -localLockOnly=true (or %s=true) to go ahead on this machine's lock alone (the record says so)",
			tenant, env, err, g.Store.Remote, EnvLocalOnly)
	}
	if err != nil {
		return nil, err
	}
	n := &nested{g: g, ref: ref, t: t, count: 1}
	g.mu.Lock()
	g.held[ref] = n
	g.mu.Unlock()
	g.pull(ctx, tenant, env)
	return n, nil
}

func (g *Guard) recordsOptions() recordsbranch.Options {
	return recordsbranch.Options{Repo: g.Store.Repo, Remote: g.Store.Remote, Branch: g.branch, Dir: g.records, Rehearsal: g.rehearsal, Log: g.Log}
}

// pull brings the shared records into the run's folder under the lease, so its record
// continues the chain the last holder (on any machine) pushed. A failure is said, not fatal:
// records:push refuses a forked record later, naming it.
func (g *Guard) pull(ctx context.Context, tenant, env string) {
	if g.records == "" {
		return
	}
	if _, err := recordsbranch.Pull(ctx, g.recordsOptions()); err != nil {
		g.Log.Warn("could not bring the shared records in before the run; its record may not continue the shared chain", "tenant", tenant, "env", env, "branch", g.branch, "err", err)
	}
}

// push sends the run's record to the shared branch while the lease is still held.
func (g *Guard) push(ctx context.Context, tenant, env string) {
	if g.records == "" {
		return
	}
	if _, err := recordsbranch.Push(ctx, g.recordsOptions()); err != nil {
		g.Log.Warn("could not push the run's record to the shared branch; run `go tool mage records:push`", "tenant", tenant, "env", env, "branch", g.branch, "err", err)
	}
}

// nested is this process's hold of one lease, shared by nested locks of the same tenant/env.
type nested struct {
	g     *Guard
	ref   string
	t     *Taken
	count int
}

func (n *nested) Check(ctx context.Context) error { return n.t.Check(ctx) }

func (n *nested) Release(ctx context.Context) error {
	n.g.mu.Lock()
	n.count--
	last := n.count == 0
	if last {
		delete(n.g.held, n.ref)
	}
	n.g.mu.Unlock()
	if !last {
		return nil
	}
	if n.t.Check(ctx) == nil {
		n.g.push(ctx, n.t.Tenant, n.t.Env)
	}
	return n.t.Release(ctx)
}

func (n *nested) Note() string {
	s := "lease " + n.t.Ref + " id " + n.t.Content.Holder.ID
	if r := n.t.Replaced; r != nil {
		s += fmt.Sprintf("; took over the expired lease %s of %s (unchanged for %s)", r.Content.Holder.ID, r.Content.Holder, r.Unchanged.Round(time.Second))
	}
	return s
}

// local is the guard of a run without a lease.
type local struct{ note string }

func (local) Check(context.Context) error   { return nil }
func (local) Release(context.Context) error { return nil }
func (l local) Note() string                { return l.note }

// Break breaks a lease as this guard's holder (lease:break), see Store.Break.
func (g *Guard) Break(ctx context.Context, tenant, env, id string, force bool) (Lease, error) {
	g.holderOnce.Do(func() {
		if g.holder != nil {
			g.me = g.holder()
		}
	})
	h := g.me
	h.Command = "lease:break " + tenant + " " + env
	return g.Store.Break(ctx, tenant, env, id, force, h)
}
