package deploy

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/secrets"
)

// splitNow is the live deployment's versions as the sandbox holds them.
func (w *world) splitNow(t testing.TB, tn, worker string) []sandbox.DeploymentVersion {
	t.Helper()
	d, ok := w.sb.Live(tenantAccount(tn), worker)
	if !ok {
		t.Fatalf("%s has no deployment", worker)
	}
	return d.Versions
}

func tenantAccount(tn string) string {
	for _, x := range tenants {
		if x.name == tn {
			return x.account
		}
	}
	panic("unknown tenant " + tn)
}

// whenSplit calls f once the new version (not old) serves exactly p% of traffic.
func (w *world) whenSplit(ctx context.Context, tn, worker, old string, p float64, f func(newID string)) {
	go func() {
		for ctx.Err() == nil {
			if d, ok := w.sb.Live(tenantAccount(tn), worker); ok && len(d.Versions) == 2 {
				for _, v := range d.Versions {
					if v.VersionID != old && v.Percentage == p {
						f(v.VersionID)
						return
					}
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
}

// The rehearsal of issue 13 on the workerd edge: v1 live; a code change rolled out 10,50,100
// with a 2 s bake ends succeeded with the gate and three steps recorded and v2 alone at 100%;
// the next change, marked unhealthy at its 10% step, ends rolled_back at step 1 with v2 alone
// at 100% again; a third, stopped during its bake, leaves its split live and recorded, and
// deploy:abort puts the old version back at 100% with a record of its own.
func TestGradualRollout(t *testing.T) {
	w := newRealEdgeWorld(t)
	ctx := context.Background()
	const tn, worker = "mrrainbowsmoke", "mrrainbowsmoke-api-staging"
	var progress bytes.Buffer
	rollout := &Rollout{Percents: []float64{10, 50, 100}, Bake: 2 * time.Second}
	// A first deploy cannot be gradual: refused before anything is uploaded, or, with the
	// fallback, deployed immediately.
	first := w.opts(t, tn, "staging", &progress)
	first.Rollout = rollout
	if out, err := Run(ctx, first); err == nil || !strings.Contains(err.Error(), "first deploy") || w.versions(t, tn, worker) != 0 {
		t.Fatalf("a gradual first deploy: %v (%s), %d versions uploaded", err, out.Record.Status, w.versions(t, tn, worker))
	}
	first.Rollout = &Rollout{Percents: rollout.Percents, FallbackImmediate: true}
	if out, err := Run(ctx, first); err != nil || out.Record.Status != history.StatusSucceeded || len(out.Record.Rollout) != 0 {
		t.Fatalf("first deploy with -rolloutFallback=immediate: %v %s %+v\n%s", err, out.Record.Status, out.Record.Rollout, progress.String())
	}
	w.setSecrets(t, tn, worker)
	v1 := w.live(t, tn, worker)

	// Succeeded.
	w.bumpRealCode(t, "v2")
	progress.Reset()
	o := w.opts(t, tn, "staging", &progress)
	o.Rollout = rollout
	out, err := Run(ctx, o)
	if err != nil || out.Record.Status != history.StatusSucceeded {
		t.Fatalf("rollout: %v %s (%s)\n%s", err, out.Record.Status, out.Record.Error, progress.String())
	}
	v2 := out.Record.VersionID
	rs := out.Record.Rollout
	if len(rs) != 4 || rs[0].Percent != 0 || rs[1].Percent != 10 || rs[2].Percent != 50 || rs[3].Percent != 100 {
		t.Fatalf("rollout steps = %+v, want the gate at 0%% and 10, 50, 100", rs)
	}
	for _, s := range rs {
		if s.Gate != "passed" || s.Start.IsZero() || s.NewSamples == 0 {
			t.Errorf("step %+v did not pass with samples", s)
		}
	}
	if rs[1].OldSamples == 0 || rs[3].Start.Sub(rs[1].Start) < 4*time.Second {
		t.Errorf("the bakes did not sample the old version or were shorter than 2 s each: %+v", rs)
	}
	if sp := w.splitNow(t, tn, worker); len(sp) != 1 || sp[0].VersionID != v2 || sp[0].Percentage != 100 || v2 == v1 {
		t.Fatalf("after the rollout the live split is %+v, want %s alone at 100%%", sp, v2)
	}
	if out.Record.PreviousVersionID != v1 || out.Record.ConfigFingerprint == "" {
		t.Errorf("record: previous %s (want %s), fingerprint %q", out.Record.PreviousVersionID, v1, out.Record.ConfigFingerprint)
	}
	// A fresh dry-run build of the same tree fingerprints as the rollout recorded.
	dry := w.opts(t, tn, "staging", &progress)
	dry.DryRun, dry.Force = true, true
	if d, err := Run(ctx, dry); err != nil || d.Plan.Fingerprint != out.Record.ConfigFingerprint {
		t.Errorf("dry-run fingerprint %s, rollout's %s (%v)", d.Plan.Fingerprint, out.Record.ConfigFingerprint, err)
	}
	// The fingerprint annotation makes the same tree unchanged next time.
	if out, err := Run(ctx, o); err != nil || out.Record.Status != history.StatusUnchanged {
		t.Fatalf("the same tree again: %v %s", err, out.Record.Status)
	}

	// Unhealthy at 10%: rolled back at step 1.
	w.bumpRealCode(t, "v3")
	progress.Reset()
	wctx, cancel := context.WithCancel(ctx)
	w.whenSplit(wctx, tn, worker, v2, 10, func(id string) { w.sb.MarkUnhealthy(id) })
	out, err = Run(ctx, o)
	cancel()
	w.sb.ClearUnhealthy()
	if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusRolledBack || !strings.Contains(out.Record.Error, "step 1 (10%)") {
		t.Fatalf("unhealthy rollout: %v %s (%s)\n%s", err, out.Record.Status, out.Record.Error, progress.String())
	}
	if rs := out.Record.Rollout; len(rs) != 2 || rs[0].Gate != "passed" || !strings.HasPrefix(rs[1].Gate, "failed: ") {
		t.Fatalf("rollout steps = %+v", rs)
	}
	if sp := w.splitNow(t, tn, worker); len(sp) != 1 || sp[0].VersionID != v2 || sp[0].Percentage != 100 {
		t.Fatalf("after the rollback the live split is %+v, want %s alone at 100%%", sp, v2)
	}

	// Interrupted during the 50% bake: the split stays, recorded; abort restores v2.
	w.bumpRealCode(t, "v4")
	progress.Reset()
	ictx, stop := context.WithCancel(ctx)
	w.whenSplit(ictx, tn, worker, v2, 50, func(string) { time.Sleep(500 * time.Millisecond); stop() })
	o.Rollout = &Rollout{Percents: []float64{50, 100}, Bake: 10 * time.Second}
	out, err = Run(ictx, o)
	stop()
	if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusInterrupted || !strings.Contains(out.Record.Error, "deploy:abort") {
		t.Fatalf("interrupted rollout: %v %s (%s)\n%s", err, out.Record.Status, out.Record.Error, progress.String())
	}
	v4 := out.Record.VersionID
	if sp := w.splitNow(t, tn, worker); len(sp) != 2 {
		t.Fatalf("the interrupted rollout left %+v, want its 50/50 split", sp)
	}
	sts, err := Statuses(ctx, w.settleOpts(t, tn, &progress), []string{tn})
	if err != nil || len(sts) != 1 || len(sts[0].Split) != 2 || sts[0].NewVersionID != v4 || sts[0].OldVersionID != v2 || sts[0].RecordFile == "" {
		t.Fatalf("deploy:status = %+v, %v", sts, err)
	}
	res, err := Settle(ctx, w.settleOpts(t, tn, &progress), Abort)
	if err != nil || res.Record.Status != history.StatusSucceeded || res.Record.Kind != history.KindRollback || res.Record.VersionID != v2 || res.RecordFile == "" {
		t.Fatalf("deploy:abort: %v %+v\n%s", err, res.Record, progress.String())
	}
	if sp := w.splitNow(t, tn, worker); len(sp) != 1 || sp[0].VersionID != v2 || sp[0].Percentage != 100 {
		t.Fatalf("after deploy:abort the live split is %+v, want %s alone at 100%%", sp, v2)
	}
	if _, err := Settle(ctx, w.settleOpts(t, tn, &progress), Promote); err == nil || !strings.Contains(err.Error(), "not split") {
		t.Fatalf("deploy:promote with nothing split: %v", err)
	}

	// A rollback past a secret change: the next version upload copies the newest version's
	// secrets, which Cloudflare will not split traffic with; the rollout says why and how on,
	// and the live version keeps all the traffic.
	// (After the abort the newest version, v4, is not live, and a secret cannot change: an
	// immediate deploy of v5 first.)
	w.bumpRealCode(t, "v5")
	immediate := w.opts(t, tn, "staging", &progress)
	if out, err := Run(ctx, immediate); err != nil || out.Record.Status != history.StatusSucceeded {
		t.Fatalf("deploy v5: %v %s\n%s", err, out.Record.Status, progress.String())
	}
	v5 := w.live(t, tn, worker)
	if _, err := secrets.Put(ctx, w.api(tn), worker, []secrets.Value{{Name: "WEBHOOK_SIGNING_KEY", Value: "rotated"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.api(tn).DeployVersion(ctx, worker, v5, "rollback past the rotation", true); err != nil {
		t.Fatal(err)
	}
	w.bumpRealCode(t, "v6")
	progress.Reset()
	o.Rollout = &Rollout{Percents: []float64{50, 100}}
	out, err = Run(ctx, o)
	if err == nil || !strings.Contains(out.Record.Error+err.Error(), "deploy without -rollout") {
		t.Fatalf("rollout after a rollback past a secret change: %v %s (%s)\n%s", err, out.Record.Status, out.Record.Error, progress.String())
	}
	if sp := w.splitNow(t, tn, worker); len(sp) != 1 || sp[0].VersionID != v5 || sp[0].Percentage != 100 {
		t.Fatalf("after the refused split the live split is %+v, want %s alone at 100%%", sp, v5)
	}
}

func (w *world) settleOpts(t testing.TB, tn string, progress *bytes.Buffer) Options {
	o := w.opts(t, tn, "staging", progress)
	o.Validate = nil
	return o
}

// bumpRealCode changes the Worker's code in a way workerd accepts (an exported string, as
// bumpCode adds, is refused by the runtime as a handler).
func (w *world) bumpRealCode(t testing.TB, marker string) {
	t.Helper()
	w.appendCode(t, "\n(globalThis as Record<string, unknown>).buildMarker = \""+marker+"\";\n")
}
