package deploy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// Issue 15's faults inflicted on a deploy with the real wrangler against the sandbox: the
// promises ("the new healthy version live or the old one; every attempt leaves a record") hold
// with an unwritable records folder, a 429 on the upload, a 500 on the automatic rollback and
// a Ctrl-C during the health gate.

// An unwritable records folder stops the deploy before anything is uploaded, naming the folder.
func TestDeployUnwritableRecordsUploadsNothing(t *testing.T) {
	w := newWorld(t)
	const tn, worker = "rainbowsmokeofficial", "rainbowsmokeofficial-api-staging"
	ctx := context.Background()
	w.firstDeploy(t, tn, worker)
	n := w.versions(t, tn, worker)
	w.bumpCode(t, "unwritable")
	dir := w.ws.DeploymentsDir()
	testrepo.Unwritable(t, dir)
	var progress bytes.Buffer
	out, err := Run(ctx, w.opts(t, tn, "staging", &progress))
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "nothing was uploaded") {
		t.Fatalf("err = %v, want one naming %s", err, dir)
	}
	if got := w.versions(t, tn, worker); got != n {
		t.Fatalf("%d new versions uploaded though the record could not be written", got-n)
	}
	if strings.Contains(progress.String(), " deploy ") {
		t.Errorf("the deploy step ran:\n%s", progress.String())
	}
	if s := summary(out, time.Second); strings.Contains(s, "dry run") {
		t.Errorf("summary of a refused deploy says dry run: %s", s)
	}
}

// One 429 with Retry-After: 2 on the upload: wrangler gives up at once, the tool waits and runs
// it again, and the deploy succeeds.
func TestDeployRetriesARateLimitedUpload(t *testing.T) {
	w := newWorld(t)
	const tn, worker = "rainbowsmokeofficial", "rainbowsmokeofficial-api-staging"
	w.sb.AddFault(sandbox.Fault{Method: "PUT", Path: "/accounts/*/workers/scripts/*", Status: 429, Code: 971, RetryAfter: "2", Count: 1})
	var progress bytes.Buffer
	out, err := Run(context.Background(), w.opts(t, tn, "staging", &progress))
	if err != nil || out.Record.Status != history.StatusSucceeded {
		t.Fatalf("deploy after one 429: %v (%s)\n%s", err, out.Record.Status, progress.String())
	}
	if !strings.Contains(progress.String(), "answered 429") {
		t.Errorf("the retry was not reported:\n%s", progress.String())
	}
	if got := w.live(t, tn, worker); got != out.Record.VersionID {
		t.Errorf("live %s, record %s", got, out.Record.VersionID)
	}
}

// The automatic rollback of an unhealthy version survives one 500 on its deployment POST.
func TestAutomaticRollbackSurvivesA500(t *testing.T) {
	w := newWorld(t)
	const tn, worker = "mrrainbowsmoke", "mrrainbowsmoke-api-staging"
	ctx := context.Background()
	v1 := w.healthyThenFailing(t, tn, worker, "bad")
	// Armed once wrangler is done, so that only our own POST meets it.
	hook := &progressHook{trigger: ": deploy ", fn: func() {
		w.sb.AddFault(sandbox.Fault{Method: "POST", Path: "/accounts/*/workers/scripts/*/deployments", Status: 500, Count: 1})
	}}
	out, err := Run(ctx, w.opts(t, tn, "staging", hook))
	if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusRolledBack {
		t.Fatalf("want rolled_back, got %v (%s: %s)\n%s", err, out.Record.Status, out.Record.Error, hook.buf.String())
	}
	if got := w.live(t, tn, worker); got != v1 {
		t.Fatalf("%s live after the rollback, want %s", got, v1)
	}
	w.logMu.Lock()
	log := w.reqLog.String()
	w.logMu.Unlock()
	var posts []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "POST") && strings.Contains(l, "/deployments") {
			posts = append(posts, l)
		}
	}
	t.Logf("deployment POSTs:\n%s", strings.Join(posts, "\n"))
	if !strings.Contains(strings.Join(posts, "\n"), "500") {
		t.Errorf("the 500 was never served")
	}
}

// Ctrl-C while the health gate waits for a failing version: the previous version is put back,
// the run says so, and the record is interrupted.
func TestInterruptDuringTheGatePutsThePreviousVersionBack(t *testing.T) {
	w := newWorld(t)
	const tn, worker = "mrrainbowsmoke", "mrrainbowsmoke-api-staging"
	v1 := w.healthyThenFailing(t, tn, worker, "gate")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hook := &progressHook{trigger: ": deploy ", fn: func() { time.Sleep(500 * time.Millisecond); cancel() }}
	o := w.opts(t, tn, "staging", hook)
	o.HealthDeadline = time.Minute
	out, err := Run(ctx, o)
	if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusInterrupted {
		t.Fatalf("want interrupted, got %v (%s)", err, out.Record.Status)
	}
	if got := w.live(t, tn, worker); got != v1 {
		t.Fatalf("%s live after Ctrl-C during the gate, want the previous %s\n%s", got, v1, hook.buf.String())
	}
	if !strings.Contains(out.Record.Error, "rolled back to "+v1) || !strings.Contains(hook.buf.String(), "press Ctrl-C again") {
		t.Errorf("record error %q; progress:\n%s", out.Record.Error, hook.buf.String())
	}
	if _, err := os.Stat(history.AttemptPath(w.ws.DeploymentsDir(), tn, "staging")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reservation left after a recorded attempt: %v", err)
	}
}

// wrangler's deployments POST fails after the upload: nothing went live, and the record still
// names the version that was uploaded.
func TestFailedDeploymentPOSTRecordsTheUploadedVersion(t *testing.T) {
	w := newWorld(t)
	const tn, worker = "mrrainbowsmoke", "mrrainbowsmoke-api-staging"
	ctx := context.Background()
	w.firstDeploy(t, tn, worker)
	v1 := w.live(t, tn, worker)
	w.bumpCode(t, "post")
	w.sb.AddFault(sandbox.Fault{Method: "POST", Path: "/accounts/*/workers/scripts/*/deployments", Status: 400, Code: 10021, Count: 1, Message: "deployment refused"})
	out, err := Run(ctx, w.opts(t, tn, "staging", nil))
	if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusFailed || w.live(t, tn, worker) != v1 {
		t.Fatalf("want failed with %s still live: %v (%s: %s)", v1, err, out.Record.Status, out.Record.Error)
	}
	vs, verr := w.api(tn).Versions(ctx, worker, 1)
	if verr != nil || len(vs) == 0 || vs[0].ID == v1 {
		t.Fatalf("no new version was uploaded: %v %v", vs, verr)
	}
	if out.Record.VersionID != vs[0].ID || !strings.Contains(out.Record.Error, "never went live") {
		t.Fatalf("record version %q (uploaded %s), error %q", out.Record.VersionID, vs[0].ID, out.Record.Error)
	}
}

// The annotation cannot be written (every try answers 500): the deploy is verified and live,
// so it succeeds, but its annotate line says FAILED, never ok.
func TestAnnotateFailureIsNeverOK(t *testing.T) {
	w := newWorld(t)
	const tn = "rainbowsmokeofficial"
	// Armed when wrangler is done: the health gate still runs before the annotation.
	hook := &progressHook{trigger: ": deploy ", fn: func() {
		w.sb.AddFault(sandbox.Fault{Method: "POST", Path: "/accounts/*/workers/scripts/*/deployments", Status: 500})
	}}
	out, err := Run(context.Background(), w.opts(t, tn, "staging", hook))
	w.sb.ClearFaults()
	if err != nil || out.Record.Status != history.StatusSucceeded {
		t.Fatalf("deploy: %v (%s)", err, out.Record.Status)
	}
	hook.mu.Lock()
	progress := hook.buf.String()
	hook.mu.Unlock()
	var line string
	for _, l := range strings.Split(progress, "\n") {
		if strings.Contains(l, ": annotate ") {
			line = l
		}
	}
	if !strings.Contains(line, "FAILED (not fatal") || strings.Contains(line, " ok ") {
		t.Fatalf("annotate line %q in:\n%s", line, progress)
	}
}

// A killed run left version v2 live, never verified (its reservation says v1 was live before
// it). The next deploy records the abandoned attempt, and when it fails itself, it goes back
// to v1, the last version seen healthy, not to the unverified v2.
func TestFailedDeployAfterAKilledOneGoesBackToTheLastVerified(t *testing.T) {
	w := newWorld(t)
	const tn, worker = "mrrainbowsmoke", "mrrainbowsmoke-api-staging"
	ctx := context.Background()
	w.firstDeploy(t, tn, worker)
	v1 := w.live(t, tn, worker)
	w.mu.Lock()
	w.knownHealthy[v1] = true
	w.mu.Unlock()
	w.bumpCode(t, "orphan")
	o := w.opts(t, tn, "staging", nil)
	if _, err := Run(ctx, o); err != nil {
		t.Fatal(err)
	}
	v2 := w.live(t, tn, worker)
	store := history.Open(w.ws.DeploymentsDir())
	if _, err := store.Reserve(999999, "gone-host", "deploy:tenant "+tn+" staging",
		history.Record{Kind: history.KindDeploy, Tenant: tn, Env: "staging", PreviousVersionID: v1, VersionID: v2}); err != nil {
		t.Fatal(err)
	}
	w.bumpCode(t, "after-orphan")
	w.mu.Lock()
	w.markNew = true
	w.mu.Unlock()
	var progress bytes.Buffer
	out, err := Run(ctx, w.opts(t, tn, "staging", &progress))
	if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusRolledBack || w.live(t, tn, worker) != v1 {
		t.Fatalf("want rolled back to %s (not the unverified %s): %v, %s, live %s\n%s", v1, v2, err, out.Record.Error, w.live(t, tn, worker), progress.String())
	}
	if out.Settled == "" || !strings.Contains(progress.String(), "never verified; this deploy replaces it") {
		t.Errorf("the abandoned attempt was not reported:\n%s", progress.String())
	}
	es, _ := store.List(tn, "staging")
	if len(es) < 2 || es[1].Path != out.Settled || !strings.Contains(es[1].Record.Error, "version "+v2+" is live and was never verified") {
		t.Errorf("settled record: %+v", es[1].Record)
	}
}

// A killed run's reservation is settled even by a deploy that finds nothing to change.
func TestUnchangedDeploySettlesAKilledAttempt(t *testing.T) {
	w := newWorld(t)
	const tn, worker = "rainbowsmokeofficial", "rainbowsmokeofficial-api-staging"
	ctx := context.Background()
	w.firstDeploy(t, tn, worker)
	v1 := w.live(t, tn, worker)
	store := history.Open(w.ws.DeploymentsDir())
	if _, err := store.Reserve(999999, "gone-host", "deploy:tenant "+tn+" staging",
		history.Record{Kind: history.KindDeploy, Tenant: tn, Env: "staging", PreviousVersionID: v1}); err != nil {
		t.Fatal(err)
	}
	out, err := Run(ctx, w.opts(t, tn, "staging", nil))
	if err != nil || out.Record.Status != history.StatusUnchanged || out.Settled == "" || store.Pending(tn, "staging") {
		t.Fatalf("unchanged deploy over a killed attempt: %v, %s, settled %q, pending %v", err, out.Record.Status, out.Settled, store.Pending(tn, "staging"))
	}
}

// healthyThenFailing deploys tn (the version it returns is known healthy), then changes the
// code and makes every new version answer unhealthy, so that the next deploy fails its gate.
func (w *world) healthyThenFailing(t *testing.T, tn, worker, marker string) string {
	t.Helper()
	w.firstDeploy(t, tn, worker)
	v := w.live(t, tn, worker)
	w.bumpCode(t, marker)
	w.mu.Lock()
	w.knownHealthy[v] = true
	w.markNew = true
	w.mu.Unlock()
	return v
}

// firstDeploy deploys tn and sets its required secrets, as an operator does after a first
// deploy, so that the next deploy's preflight finds them.
func (w *world) firstDeploy(t *testing.T, tn, worker string) {
	t.Helper()
	if _, err := Run(context.Background(), w.opts(t, tn, "staging", nil)); err != nil {
		t.Fatal(err)
	}
	w.setSecrets(t, tn, worker)
}
