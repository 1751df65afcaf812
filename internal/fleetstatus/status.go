package fleetstatus

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/drift"
	"github.com/rainbowsmoke/crispy-enigma/internal/health"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// State is a row's overall state, the worst of its parts (the HTML matrix colours by it).
type State string

// The states, worst first.
const (
	StateError     State = "error"     // the live state could not be read
	StateMissing   State = "missing"   // nothing deployed
	StateUnhealthy State = "unhealthy" // health answers, but not healthy, or not at all
	StateDrifted   State = "drifted"   // live differs from what the repository would deploy
	StateSplit     State = "split"     // a gradual rollout: traffic split between versions
	StateOK        State = "ok"
)

// Share is one live version and its share of traffic, in percent.
type Share struct {
	VersionID  string  `json:"version_id"`
	Percentage float64 `json:"percentage"`
}

// Attempt is what a record says about one deploy or rollback.
type Attempt struct {
	Kind      history.Kind   `json:"kind"`
	Status    history.Status `json:"status"`
	VersionID string         `json:"version_id,omitempty"`
	Actor     string         `json:"actor"`
	GitSHA    string         `json:"git_sha,omitempty"`
	At        time.Time      `json:"at"`
	Error     string         `json:"error,omitempty"`
	Record    string         `json:"record"` // the record file's path
}

// Health is what the health URL answered just now.
type Health struct {
	OK          bool   `json:"ok"`
	URL         string `json:"url,omitempty"`
	StatusCode  int    `json:"status_code,omitempty"`
	SeenVersion string `json:"seen_version,omitempty"`
	Detail      string `json:"detail,omitempty"`
}

// Row is one tenant/env.
type Row struct {
	Tenant   string  `json:"tenant"`
	Env      string  `json:"env"`
	Worker   string  `json:"worker,omitempty"`
	State    State   `json:"state"`
	Versions []Share `json:"versions"`
	// Drift is drift's status (in_sync, drifted, missing, error) and Changes how many.
	Drift        drift.Status `json:"drift"`
	DriftChanges int          `json:"drift_changes"`
	// rolloutDrift: every drift change is one a split rollout makes (rolloutOnly).
	rolloutDrift bool
	Health       *Health `json:"health"` // nil when not asked (not deployed, or unreadable)
	// Deployed is the newest succeeded record that put the serving version live; nil when no
	// record did (deployed outside the tool, or before records were kept).
	Deployed *Attempt `json:"deployed"`
	// DeployedNote qualifies Deployed: "then a secret change" when the serving version is one
	// Cloudflare made from the recorded one by a secret put (triggered_by "secret").
	DeployedNote string `json:"deployed_note,omitempty"`
	// LastFailure is the newest failed, rolled_back or interrupted attempt; nil when none.
	LastFailure *Attempt `json:"last_failure"`
	// Records is how many usable records the tenant/env has.
	Records int `json:"records"`
	// SkippedRecords are its damaged record files, left out of Deployed and LastFailure
	// (present only when there are some; they make the exit code 2).
	SkippedRecords []history.Damaged `json:"skipped_records,omitempty"`
	Error          string            `json:"error,omitempty"`
}

// Probe says where and how to check a tenant/env's health.
type Probe func(ctx context.Context, tenant, env string) (health.Check, error)

// Records reads a tenant/env's records, newest first, passing over damaged ones
// (history.Store.ReadableOf).
type Records func(tenant, env string) (history.Readable, error)

// Options is one status request; Tenants × Envs are the rows, in that order (env major).
type Options struct {
	Tenants []string
	Envs    []tenant.Env
	Prepare drift.Prepare
	Probe   Probe
	Records Records
	// Parallel is how many tenant/envs are read at once; zero means drift.DefaultParallel.
	Parallel int
	// Done, when set, gets each row as soon as it is ready.
	Done func(Row)
}

// Collect reads every row, up to o.Parallel at once, and returns them in order.
func Collect(ctx context.Context, o Options) []Row {
	type job struct {
		tenant string
		env    tenant.Env
	}
	var jobs []job
	for _, e := range o.Envs {
		for _, t := range o.Tenants {
			jobs = append(jobs, job{t, e})
		}
	}
	par := o.Parallel
	if par <= 0 {
		par = drift.DefaultParallel
	}
	rows := make([]Row, len(jobs))
	var g errgroup.Group
	g.SetLimit(par)
	for i, j := range jobs {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				rows[i] = Row{Tenant: j.tenant, Env: string(j.env), State: StateError, Drift: drift.Error, Versions: []Share{},
					Error: fmt.Sprintf("status %s/%s: %v before it started", j.tenant, j.env, err)}
			} else {
				rows[i] = One(ctx, j.tenant, j.env, o)
			}
			if o.Done != nil {
				o.Done(rows[i])
			}
			return nil
		})
	}
	_ = g.Wait() // every task reports in rows; none returns an error
	return rows
}

// capture remembers the deployment drift reads, so the split costs no request of its own.
type capture struct {
	cfapi.Reader
	mu  sync.Mutex
	dep *cfapi.Deployment
}

func (c *capture) LiveDeployment(ctx context.Context, script string) (cfapi.Deployment, error) {
	d, err := c.Reader.LiveDeployment(ctx, script)
	if err == nil {
		c.mu.Lock()
		c.dep = &d
		c.mu.Unlock()
	}
	return d, err
}

// One reads one tenant/env: drift (the live state), then health and the records.
func One(ctx context.Context, name string, env tenant.Env, o Options) Row {
	row := Row{Tenant: name, Env: string(env), Versions: []Share{}}
	var cap *capture
	prepare := func(ctx context.Context, t string, e tenant.Env) (drift.Input, error) {
		in, err := o.Prepare(ctx, t, e)
		if err == nil && in.Reader != nil {
			cap = &capture{Reader: in.Reader}
			in.Reader = cap
		}
		return in, err
	}
	rep := drift.Check(ctx, name, env, prepare)
	row.Worker, row.Drift, row.Error = rep.Worker, rep.Status, rep.Error
	if rep.Status == drift.Drifted {
		row.DriftChanges = rep.Changes.Count()
		row.rolloutDrift = rolloutOnly(rep.Changes)
	}
	if cap != nil && cap.dep != nil {
		for _, v := range cap.dep.Versions {
			row.Versions = append(row.Versions, Share{VersionID: v.VersionID, Percentage: v.Percentage})
		}
	}
	if len(row.Versions) == 0 && rep.LiveVersion != "" {
		row.Versions = []Share{{VersionID: rep.LiveVersion, Percentage: 100}}
	}

	if o.Records != nil {
		read, err := o.Records(name, row.Env)
		if err != nil {
			row.Error = join(row.Error, fmt.Sprintf("records %s/%s: %v", name, env, err))
		}
		entries := read.Entries
		row.Records, row.SkippedRecords = len(entries), read.Damaged
		row.Deployed, row.LastFailure = fromRecords(entries, rep.LiveVersion)
		if row.Deployed == nil && rep.Status == drift.InSync && cap != nil && cap.dep != nil && cap.dep.TriggeredBy == "secret" {
			// A secret put makes and deploys a new version of the recorded one: the records
			// still say who deployed the code that serves.
			for _, e := range entries {
				if e.Record.Status == history.StatusSucceeded && e.Record.VersionID != "" {
					row.Deployed, row.DeployedNote = attempt(e), "then a secret change"
					break
				}
			}
		}
	}

	if rep.Status != drift.Error && rep.Status != drift.Missing && o.Probe != nil {
		c, err := o.Probe(ctx, name, row.Env)
		if err != nil {
			row.Health = &Health{Detail: err.Error()}
		} else {
			c.Version = "" // health now: any live version that answers healthy is healthy
			res := health.Once(ctx, c)
			row.Health = &Health{OK: res.OK, URL: res.URL, StatusCode: res.StatusCode, SeenVersion: res.SeenVersion, Detail: res.Last}
		}
	}
	row.State = state(row)
	return row
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func state(r Row) State {
	switch {
	case r.Drift == drift.Error || r.Drift == "":
		return StateError
	case r.Drift == drift.Missing:
		return StateMissing
	case r.Health != nil && !r.Health.OK:
		return StateUnhealthy
	case len(r.Versions) > 1 && (r.Drift != drift.Drifted || r.rolloutDrift):
		return StateSplit
	case r.Drift == drift.Drifted:
		return StateDrifted
	}
	return StateOK
}

// rolloutFields are the differences a gradual rollout in progress makes by itself: the
// deployment is split, the version mostly serving is not the repository's, and neither is its
// code. Any other difference (a var, a binding, a trigger) is drift, rollout or not.
var rolloutFields = []string{"deployment", "version", "code"}

// rolloutOnly reports whether every change is one a rollout in progress explains.
func rolloutOnly(c drift.Changes) bool {
	for _, set := range [][]drift.Change{c.Added, c.Removed, c.Changed} {
		for _, ch := range set {
			if !slices.Contains(rolloutFields, ch.Field) {
				return false
			}
		}
	}
	return true
}

func attempt(e history.Entry) *Attempt {
	r := e.Record
	return &Attempt{Kind: r.Kind, Status: r.Status, VersionID: r.VersionID, Actor: r.Actor, GitSHA: r.GitSHA, At: r.FinishedAt, Error: r.Error, Record: e.Path}
}

// fromRecords finds, in records newest first, the succeeded record that made live the serving
// version, and the newest failed attempt.
func fromRecords(entries []history.Entry, live string) (deployed, failed *Attempt) {
	for _, e := range entries {
		switch e.Record.Status {
		case history.StatusSucceeded:
			if deployed == nil && live != "" && e.Record.VersionID == live {
				deployed = attempt(e)
			}
		case history.StatusFailed, history.StatusRolledBack, history.StatusInterrupted:
			if failed == nil {
				failed = attempt(e)
			}
		}
		if deployed != nil && failed != nil {
			break
		}
	}
	return deployed, failed
}
