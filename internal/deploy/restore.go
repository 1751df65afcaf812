package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/plugins"
)

// restore puts the version that was live before back after a failed deploy, verifies it, and
// sets the record's status: rolled_back when the old version serves healthy again, failed
// otherwise (first deploy, or the rollback itself failed: the error says what to do).
func (st *State) restore(ctx context.Context) {
	rec := &st.Record
	prev := st.Plan.LiveVersionID
	worker := st.Resolved.WorkerName
	if prev == "" {
		rec.Status = history.StatusFailed
		rec.Error += "; this was the first deploy of " + worker + ", so there is no earlier version to roll back to"
		return
	}
	// wrangler may have failed before anything went live: then there is nothing to undo.
	if live, err := st.API.LiveDeployment(ctx, worker); err == nil {
		if p := live.Primary(); p.VersionID == prev && p.Percentage >= 100 {
			rec.Status = history.StatusFailed
			rec.Error += "; the previous version " + prev + " is still live, nothing to roll back"
			return
		}
		if v := live.Primary().VersionID; rec.VersionID == "" && v != prev {
			rec.VersionID = v // wrangler failed before it could report the new version's id
		}
	}
	start := time.Now()
	msg := fmt.Sprintf("rollback: deploy of %s failed", orUnknown(rec.VersionID))
	err := st.Opts.Runner.Rollback(ctx, st.invocation(), prev, msg)
	st.step("rollback", start)
	st.progress("rollback", time.Since(start), err)
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

func orUnknown(s string) string {
	if s == "" {
		return "the new version"
	}
	return s
}
