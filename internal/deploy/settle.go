package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// SplitStatus is one tenant's live traffic split, for deploy:status.
type SplitStatus struct {
	Tenant string `json:"tenant"`
	Env    string `json:"env"`
	Worker string `json:"worker"`
	// Split is the live deployment's versions and shares (one at 100% outside a rollout).
	Split []cfapi.TrafficSplit `json:"split"`
	// Since is when the live deployment was made.
	Since time.Time `json:"since"`
	// NewVersionID and OldVersionID are the rollout's versions, from the record that started
	// it (empty when no record of ours explains the split).
	NewVersionID string `json:"new_version_id,omitempty"`
	OldVersionID string `json:"old_version_id,omitempty"`
	// RecordFile is that record; RecordStatus how it ended (interrupted: stopped mid-way).
	RecordFile   string `json:"record_file,omitempty"`
	RecordStatus string `json:"record_status,omitempty"`
	Error        string `json:"error,omitempty"`
}

// IsSplit reports whether two versions share the traffic.
func (s SplitStatus) IsSplit() bool { return len(s.Split) > 1 }

// Statuses reads each tenant's live split for opts.Env; a tenant that cannot be read gets its
// error in its row, and the others are still read.
func Statuses(ctx context.Context, opts Options, tenantNames []string) ([]SplitStatus, error) {
	var out []SplitStatus
	for _, tn := range tenantNames {
		o := opts
		// The names come from tenant.List: folders with valid names.
		o.Tenant = tenant.Name(tn)
		st, err := settleState(ctx, o)
		row := SplitStatus{Tenant: tn, Env: string(opts.Env)}
		if err != nil {
			row.Error = err.Error()
			out = append(out, row)
			continue
		}
		row.Env, row.Worker = string(st.Env), st.Resolved.WorkerName
		live, err := st.API.LiveDeployment(ctx, st.Resolved.WorkerName)
		if err != nil {
			row.Error = err.Error()
			out = append(out, row)
			continue
		}
		row.Split, row.Since = live.Versions, live.CreatedOn
		if e, ok := st.rolloutRecord(live); ok {
			row.NewVersionID, row.OldVersionID = e.Record.VersionID, e.Record.PreviousVersionID
			row.RecordFile, row.RecordStatus = e.Path, string(e.Record.Status)
		}
		out = append(out, row)
	}
	return out, ctx.Err()
}

// settleState resolves the tenant/env and finds its token: what status, promote and abort
// need, without building or validating anything.
func settleState(ctx context.Context, opts Options) (*State, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Runner.Bin == "" {
		opts.Runner = wrangler.New(opts.Workspace, opts.Log)
	}
	st := &State{Opts: opts, started: time.Now().UTC()}
	for _, s := range []Step{resolveStep{}, credentialsStep{}} {
		if err := s.Run(ctx, st); err != nil {
			return nil, fmt.Errorf("%s/%s: %s: %w", opts.Tenant, opts.Env, s.Name(), err)
		}
	}
	return st, nil
}

// rolloutRecord is the newest record of a gradual rollout whose new version is in live and,
// when live is split, that names both of its versions: its new version and the one it was
// rolled out over. (A finished rollout's new version is the old half of the next one's split,
// so the new version alone would find that one.)
func (st *State) rolloutRecord(live cfapi.Deployment) (history.Entry, bool) {
	es, err := history.Open(st.Opts.Workspace.DeploymentsDir()).Entries(string(st.Opts.Tenant), string(st.Env))
	if err != nil {
		return history.Entry{}, false
	}
	for _, e := range es {
		r := e.Record
		if len(r.Rollout) == 0 || r.VersionID == "" {
			continue
		}
		ids := live.VersionIDs()
		if slices.Contains(ids, r.VersionID) && (len(ids) < 2 || slices.Contains(ids, r.PreviousVersionID)) {
			return e, true
		}
	}
	return history.Entry{}, false
}

// Action is what deploy:promote or deploy:abort does with a split.
type Action string

// The two ways to settle a split.
const (
	Promote Action = "promote" // the new version alone at 100%
	Abort   Action = "abort"   // the old version alone at 100%
)

// Settle ends a split left by a gradual rollout: under the tenant/env's lock, it deploys the
// new (Promote) or old (Abort) version alone at 100%, verifies it, and records the attempt. A
// promoted version that does not answer healthy is taken back to the old one (rolled_back).
func Settle(ctx context.Context, opts Options, a Action) (Outcome, error) {
	st, err := settleState(ctx, opts)
	if err != nil {
		return Outcome{}, fmt.Errorf("deploy:%s %w", a, err)
	}
	opts = st.Opts
	worker := st.Resolved.WorkerName
	kind := history.KindDeploy
	if a == Abort {
		kind = history.KindRollback
	}
	st.Record = history.Record{Kind: kind, Tenant: string(opts.Tenant), Env: string(st.Env), WorkerName: worker, AccountID: st.Resolved.AccountID,
		URL: st.Record.URL, Actor: st.Record.Actor, GitSHA: st.Record.GitSHA, GitDirty: st.Record.GitDirty, StartedAt: st.started, Reason: "deploy:" + string(a),
		Rehearsal: opts.SandboxToken != nil}
	l, err := lock.Acquire(opts.Workspace.LocksDir(), string(opts.Tenant), string(st.Env), lock.Options{Command: "deploy:" + string(a) + " " + string(opts.Tenant) + " " + string(st.Env), Log: opts.Log, Context: ctx})
	if err != nil {
		return Outcome{}, fmt.Errorf("deploy:%s %s/%s: %w", a, opts.Tenant, st.Env, err)
	}
	st.Record.Lease = l.Note()
	defer func() {
		if err := l.Release(); err != nil {
			opts.Log.Warn("releasing the deploy lock", "err", err)
		}
	}()
	live, err := st.API.LiveDeployment(ctx, worker)
	if err != nil {
		return Outcome{}, fmt.Errorf("deploy:%s %s/%s: reading the live deployment: %w", a, opts.Tenant, st.Env, err)
	}
	// A rollout killed with kill -9 left its reservation, not a record: write it now, under the
	// lock, so that the split it left is named by a record this command can settle.
	store := history.Open(opts.Workspace.DeploymentsDir())
	settled, ok, err := store.SettleSplit(string(opts.Tenant), string(st.Env), live.VersionIDs(), st.Token.Value.Reveal())
	if err != nil {
		return Outcome{}, fmt.Errorf("deploy:%s %s/%s: %w", a, opts.Tenant, st.Env, &history.WritableError{Dir: store.Dir, Err: err})
	}
	if ok {
		fmt.Fprintf(opts.Progress, "deploy:%s %s/%s: the previous attempt (pid %d on %s) was killed before it finished; recorded it as interrupted in %s\n",
			a, opts.Tenant, st.Env, settled.Reservation.PID, settled.Reservation.Host, settled.File)
	}
	if len(live.Versions) < 2 {
		return Outcome{}, fmt.Errorf("deploy:%s %s/%s: %s is not split (%s serves everything); nothing to %s", a, opts.Tenant, st.Env, worker, live.Primary().VersionID, a)
	}
	e, ok := st.rolloutRecord(live)
	if !ok {
		return Outcome{}, fmt.Errorf("deploy:%s %s/%s: %s is split (%s) but no rollout record of this repository names its versions; settle it with `go tool mage rollback %s %s -to=<version>`",
			a, opts.Tenant, st.Env, worker, splitString(live.Versions), opts.Tenant, st.Env)
	}
	newID, oldID := e.Record.VersionID, e.Record.PreviousVersionID
	target, other := newID, oldID
	if a == Abort {
		target, other = oldID, newID
	}
	st.Record.PreviousVersionID, st.Record.VersionID = other, target
	st.Record.Rollout = e.Record.Rollout
	st.Record.ConfigFingerprint, st.Record.BundleSHA256 = e.Record.ConfigFingerprint, e.Record.BundleSHA256
	// The code settled is the rollout's, not whatever the checkout holds now: lead time and fix
	// detection read the commit from the record.
	st.Record.GitSHA, st.Record.GitDirty = e.Record.GitSHA, e.Record.GitDirty

	start := time.Now()
	msg := fmt.Sprintf("deploy:%s of the rollout of %s (record %s)", a, newID, e.Path)
	if a == Promote {
		// The fingerprint mark, so that the next plan of the same tree finds it unchanged.
		if fp := e.Record.ConfigFingerprint; fp != "" {
			msg = Annotation{Fingerprint: fp, Bundle: e.Record.BundleSHA256, GitSHA: e.Record.GitSHA}.String()
		}
	}
	// Reserved before the write, naming it (write ahead): a kill -9 from here on is recorded by
	// the next command, with what it was about to do.
	host, _ := os.Hostname()
	att, err := store.Reserve(os.Getpid(), host, "deploy:"+string(a)+" "+string(opts.Tenant)+" "+string(st.Env), st.Record, st.Token.Value.Reveal())
	if err != nil {
		return Outcome{}, fmt.Errorf("deploy:%s %s/%s: %w", a, opts.Tenant, st.Env, err)
	}
	st.attempt = att
	st.intend("deploy:" + string(a) + ": " + target + " alone at 100% (was " + splitString(live.Versions) + ")")
	_, err = st.API.DeployVersionChecked(ctx, worker, live.VersionIDs(), target, msg, true)
	st.step(string(a), start)
	st.progress(string(a), time.Since(start), err)
	if err == nil {
		start = time.Now()
		st.Health, err = st.checkHealth(ctx, target)
		st.step("verify", start)
		st.progress("verify", time.Since(start), err)
	}
	switch {
	case err == nil:
		st.Record.Status = history.StatusSucceeded
	case a == Promote && st.Health.URL != "":
		st.Record.Error = err.Error()
		st.Plan.LiveVersionID = oldID
		st.live = true
		st.restore(ctx)
	default:
		st.Record.Status = history.StatusFailed
		st.Record.Error = err.Error()
	}
	if h := st.Health; h.URL != "" {
		st.Record.Health = &history.Health{URL: h.URL, ExpectedVersion: h.ExpectedVersion, SeenVersion: h.SeenVersion,
			StatusCode: h.StatusCode, Attempts: h.Attempts, OK: h.OK}
	}
	st.Record.FinishedAt = time.Now().UTC()
	if uerr := st.attempt.Update(st.Record); uerr != nil {
		st.notef("record", "COULD NOT keep this run's ending in its reservation: %v", uerr)
	}
	_ = st.attempt.Free()
	file, werr := st.writeRecord()
	out := Outcome{Record: st.Record, RecordFile: file}
	if ok {
		out.Settled = settled.File
	}
	if werr != nil {
		return out, errors.Join(err, werr)
	}
	if derr := st.attempt.Done(); derr != nil {
		opts.Log.Warn("could not remove the reserved record; the next run will record the attempt twice", "err", derr)
	}
	if st.Record.Status != history.StatusSucceeded {
		return out, fmt.Errorf("%w: deploy:%s %s/%s ended %s: %s", ErrFailed, a, opts.Tenant, st.Env, st.Record.Status, st.Record.Error)
	}
	return out, nil
}
