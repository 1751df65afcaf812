package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/plugins"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// restore puts the version that was live before back after a failed deploy, verifies it, and
// sets the record's status: rolled_back when the old version serves healthy again, failed
// otherwise (first deploy, or the rollback itself failed: the error says what to do).
func (st *State) restore(ctx context.Context) {
	rec := &st.Record
	prev := st.restoreTarget()
	worker := st.Resolved.WorkerName
	if prev == "" {
		rec.Status = history.StatusFailed
		rec.Error += "; this was the first deploy of " + worker + ", so there is no earlier version to roll back to"
		return
	}
	// wrangler may have failed before anything went live: then there is nothing to undo.
	live, err := st.API.LiveDeployment(ctx, worker)
	if err != nil {
		// Without the live deployment no write can be checked (DeployVersionChecked): say what
		// is known instead of rolling back blind or calling it a failed rollback.
		rec.Status = history.StatusFailed
		if st.nothingUploaded() {
			rec.Error += fmt.Sprintf("; nothing was uploaded (Cloudflare refused wrangler's request before any upload), so %s stays live; the API could not be read to confirm it (%v): check with `go tool mage deploy:status %s %s`",
				prev, err, st.Opts.Tenant, st.Opts.Env)
		} else {
			rec.Error += fmt.Sprintf("; the API could not be read (%v), so the upload's fate is unknown (whether %s went live) and nothing was rolled back: check with `go tool mage deploy:status %s %s` and, if it is live, `go tool mage rollback %s %s -to=%s`",
				err, orUnknown(rec.VersionID), st.Opts.Tenant, st.Opts.Env, st.Opts.Tenant, st.Opts.Env, prev)
		}
		return
	}
	if p := live.Primary(); p.VersionID == prev && p.Percentage >= 100 && len(live.Versions) == 1 {
		rec.Status = history.StatusFailed
		rec.Error += "; the previous version " + prev + " is still live, nothing to roll back"
		st.noteUploaded(ctx)
		return
	}
	if v := live.Primary().VersionID; rec.VersionID == "" && v != prev && len(live.Versions) == 1 {
		rec.VersionID = v // wrangler failed before it could report the new version's id
	}
	// The automatic rollback acts only while the failing version is still this run's own: a
	// version somebody else put live meanwhile is theirs to judge, not ours to undo.
	if !slices.Contains(live.VersionIDs(), rec.VersionID) {
		rec.Status = history.StatusFailed
		rec.Error += fmt.Sprintf("; not rolled back: %s serves %s now, not this run's %s (somebody else deployed meanwhile); check with `go tool mage deploy:status %s %s`",
			worker, strings.Join(live.VersionIDs(), " + "), orUnknown(rec.VersionID), st.Opts.Tenant, st.Opts.Env)
		return
	}
	start := time.Now()
	msg := fmt.Sprintf("rollback: deploy of %s failed", orUnknown(rec.VersionID))
	// Through the API client, not `wrangler rollback`: the client retries a 429 after its
	// Retry-After and a 5xx with backoff, where one failed request would leave the failing
	// version live. force: like wrangler rollback outside a terminal, the version that was
	// live a moment ago goes back even if secrets changed since it was deployed.
	st.intend("rollback to " + prev + " (" + msg + ")")
	_, err = st.API.DeployVersionChecked(ctx, worker, live.VersionIDs(), prev, msg, true)
	st.step("rollback", start)
	st.progress("rollback", time.Since(start), err)
	if errors.Is(err, cfapi.ErrLiveChanged) {
		rec.Status = history.StatusFailed
		rec.Error += "; rollback to " + prev + " stopped: " + err.Error()
		return
	}
	if err != nil {
		rec.Status = history.StatusFailed
		rec.Error += fmt.Sprintf("; ROLLBACK to %s FAILED: %v; the failed version may still be live: run `go tool mage rollback %s %s -to=%s`",
			prev, err, st.Opts.Tenant, st.Opts.Env, prev)
		return
	}
	start = time.Now()
	res, err := st.checkHealth(ctx, prev)
	st.step("verify-rollback", start)
	st.progress("verify-rollback", time.Since(start), err)
	// A failed check of the new version stays in the record: it is why we rolled back.
	if st.Health.URL == "" {
		st.Health = res
	}
	if err != nil {
		rec.Status = history.StatusFailed
		rec.Error += fmt.Sprintf("; rolled back to %s, but it does not answer healthy either: %v", prev, err)
		return
	}
	rec.Status = history.StatusRolledBack
	rec.Error += "; rolled back to " + prev + ", which answers healthy"
	st.runPlugins(ctx, plugins.PostRollback, false)
}

// nothingUploaded reports whether what wrangler said proves that nothing went live: Cloudflare
// answered one of its requests with an API error (wrangler stops at the first) before it
// printed an upload or a version id. A connection lost or a timeout proves nothing.
func (st *State) nothingUploaded() bool {
	var ce *wrangler.CommandError
	if st.Record.VersionID != "" || !errors.As(st.deployErr, &ce) || ce.Uploaded || ce.VersionID != "" || ce.Code == "" {
		return false
	}
	for _, r := range ce.Code {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// restoreTarget is the version a failed deploy goes back to: the one live before it, unless
// that was left by a killed run and never verified; then the one live before that run, the
// last version anybody saw healthy.
func (st *State) restoreTarget() string {
	if s := st.Settled; s != nil && s.Live && s.Reservation.Record.PreviousVersionID != "" {
		return s.Reservation.Record.PreviousVersionID
	}
	return st.Plan.LiveVersionID
}

func orUnknown(s string) string {
	if s == "" {
		return "the new version"
	}
	return s
}

// interruptedRestoreBudget is how long a Ctrl-C'd deploy spends putting the previous version
// back: mage gives a cancelled target 5 s before it gives up on it, and the record must still be
// written after this.
const interruptedRestoreBudget = 3500 * time.Millisecond

// restoreInterrupted is restore for a deploy stopped (Ctrl-C, SIGTERM) after its upload began:
// a version that is not verified must not stay live because the operator asked us to stop.
// It runs on a context of its own, bounded by interruptedRestoreBudget; a second Ctrl-C makes
// mage exit at once, and the reservation left behind lets the next run record the attempt.
func (st *State) restoreInterrupted(ctx context.Context) {
	rec := &st.Record
	if st.restoreTarget() == "" {
		rec.Error += "; this was the first deploy of " + st.Resolved.WorkerName + ", so nothing was put back: check with `go tool mage drift " + string(st.Opts.Tenant) + " " + string(st.Opts.Env) + "`"
		return
	}
	st.notef("interrupted", "interrupted after the upload began; putting %s back (press Ctrl-C again to stop now and leave the new version live)",
		st.restoreTarget())
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), interruptedRestoreBudget)
	defer cancel()
	st.restore(rctx)
	if rec.Status == history.StatusFailed && !strings.Contains(rec.Error, "still live") {
		rec.Error += "; the new version may be live: check with `go tool mage drift " + string(st.Opts.Tenant) + " " + string(st.Opts.Env) + "` and roll back if needed"
	}
}

// noteUploaded puts into the record the version wrangler uploaded but never deployed (its
// deployments POST failed, so it reported no id): the version list's newest, when it is not
// the live one and was created during this attempt (a minute of slack for clock skew; the lock
// keeps other deploys of the tool out meanwhile).
func (st *State) noteUploaded(ctx context.Context) {
	rec := &st.Record
	if rec.VersionID != "" {
		return
	}
	vs, err := st.API.Versions(ctx, st.Resolved.WorkerName, 1)
	if err != nil || len(vs) == 0 {
		return
	}
	if v := vs[0]; v.ID != st.Plan.LiveVersionID && v.CreatedOn.After(st.started.Add(-time.Minute)) {
		rec.VersionID = v.ID
		rec.Error += "; it was uploaded as version " + v.ID + ", which never went live"
	}
}
