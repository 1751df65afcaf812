package deploy

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
)

// The failures users met mid-deploy in 2025-2026 (many-machines-and-the-real-api.md §3), each
// injected by name into the sandbox while the real wrangler redeploys a changed Worker. Where
// a rerun is safe (nothing went live) the deploy reruns wrangler and succeeds; otherwise it
// fails with the old version live and the record saying why.
func TestDeployMeetsTheFailuresUsersMeet(t *testing.T) {
	const versions = "POST /accounts/*/workers/scripts/*/versions"
	for _, tc := range []struct {
		fault    sandbox.Fault
		progress string // in the progress output when the deploy reran wrangler
		failed   string // "" = the deploy succeeds; else in the record's error, old version live
	}{
		{fault: sandbox.Fault{Name: "incomplete-body"}, progress: "incomplete upload (code 10013)"},
		{fault: sandbox.Fault{Name: "connection-reset"}, progress: "connection to Cloudflare broke"},
		{fault: sandbox.Fault{Name: "kv-write-perms"}, progress: "code 10023"},
		{fault: sandbox.Fault{Name: "rate-limited", Path: versions}, progress: "answered 429 (throttled, code 971)"},
		{fault: sandbox.Fault{Name: "throttled-6100", Path: versions}, progress: "answered 429 (throttled, code 6100)"},
		{fault: sandbox.Fault{Name: "secrets-changed"}, progress: "secret changed between the upload and the deployment"},
		{fault: sandbox.Fault{Name: "migration-on-version"}, failed: "only with a full deploy"},
		// The deployment is made and its answer lost: read back, it is this run's upload.
		{fault: sandbox.Fault{Name: "deployment-answer-lost"}, progress: "uploaded by this run, went live without wrangler hearing of it"},
	} {
		t.Run(tc.fault.Name, func(t *testing.T) {
			w := newWorld(t)
			const tn, worker = "mrrainbowsmoke", "mrrainbowsmoke-api-staging"
			ctx := context.Background()
			w.firstDeploy(t, tn, worker)
			v1 := w.live(t, tn, worker)
			w.bumpCode(t, strings.ReplaceAll(tc.fault.Name, "-", "_"))
			w.sb.AddFault(tc.fault)
			var progress bytes.Buffer
			out, err := Run(ctx, w.opts(t, tn, "staging", &progress))
			if left := w.sb.Faults(); len(left) != 0 {
				t.Fatalf("the fault was never met: %+v", left)
			}
			live := w.live(t, tn, worker)
			if tc.failed != "" {
				if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusFailed || live != v1 {
					t.Fatalf("want failed with %s live; got %v (%s), %s live\n%s", v1, err, out.Record.Status, live, progress.String())
				}
				if !strings.Contains(out.Record.Error, tc.failed) || !strings.Contains(out.Record.Error, "still live") {
					t.Errorf("record error %q does not say why (%q) and that the old version is live", out.Record.Error, tc.failed)
				}
				return
			}
			if err != nil || out.Record.Status != history.StatusSucceeded {
				t.Fatalf("deploy after %s: %v (%s: %s)\n%s", tc.fault.Name, err, out.Record.Status, out.Record.Error, progress.String())
			}
			if live != out.Record.VersionID || live == v1 {
				t.Errorf("live %s, record %s, before %s", live, out.Record.VersionID, v1)
			}
			if !strings.Contains(progress.String(), tc.progress) || !strings.Contains(progress.String(), "; retrying in") {
				t.Errorf("the rerun was not reported as %q:\n%s", tc.progress, progress.String())
			}
		})
	}
}

// 100146 on the version `wrangler versions deploy` reads right after `wrangler versions
// upload` made it: the gradual rollout asks again and goes on.
func TestRolloutWaitsForAVersionNotYetReadable(t *testing.T) {
	w := newWorld(t)
	const tn, worker = "mrrainbowsmoke", "mrrainbowsmoke-api-staging"
	w.firstDeploy(t, tn, worker)
	w.bumpCode(t, "not_yet_readable")
	hook := &progressHook{trigger: ": upload ", fn: func() {
		f, err := sandbox.NamedFault("version-not-yet-readable")
		if err != nil {
			t.Error(err)
		}
		w.sb.AddFault(f)
	}}
	o := w.opts(t, tn, "staging", hook)
	o.Rollout = &Rollout{Percents: []float64{50, 100}}
	out, err := Run(context.Background(), o)
	if err != nil || out.Record.Status != history.StatusSucceeded {
		t.Fatalf("rollout after 100146: %v (%s: %s)\n%s", err, out.Record.Status, out.Record.Error, hook.buf.String())
	}
	if !strings.Contains(hook.buf.String(), "code 100146") {
		t.Errorf("the wait was not reported:\n%s", hook.buf.String())
	}
	if got := w.live(t, tn, worker); got != out.Record.VersionID {
		t.Errorf("live %s, record %s", got, out.Record.VersionID)
	}
}
