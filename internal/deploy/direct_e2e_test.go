package deploy

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// wranglerRuns counts the wrangler processes a deploy started: each run gets its own
// wrangler-run-* folder in the run folder, which a deploy keeps.
func wranglerRuns(t *testing.T, runDir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(runDir, "wrangler-run-*"))
	if err != nil || runDir == "" {
		t.Fatalf("run folder %q: %v", runDir, err)
	}
	return len(m)
}

// TestChangedDeployBuildsInTheDeploy: a changed tree is built and uploaded by one wrangler
// run; what it uploaded gives the record its bundle sha256 and fingerprint (equal to what a
// separate dry-run build of the same tree gives), the live deployment its annotation, and
// the next run its cache. A checkout without the cache decides "unchanged" from the
// annotation's inputs hash alone, and a dry run without the cache still builds to show the plan.
func TestChangedDeployBuildsInTheDeploy(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	const tn, worker = "mrrainbowsmoke", "mrrainbowsmoke-api-staging"
	api := w.api(tn)

	// 1. A first deploy, nothing cached: one wrangler run.
	var progress bytes.Buffer
	out, err := Run(ctx, w.opts(t, tn, "staging", &progress))
	if err != nil || out.Record.Status != history.StatusSucceeded {
		t.Fatalf("deploy: %v %s\n%s", err, out.Record.Status, progress.String())
	}
	if n := wranglerRuns(t, out.RunDir); n != 1 {
		t.Fatalf("a changed deploy started wrangler %d times, want 1", n)
	}
	if !regexp.MustCompile(`build +deferred`).MatchString(progress.String()) {
		t.Fatalf("the build step does not say it was deferred:\n%s", progress.String())
	}
	rec := out.Record
	v1 := w.live(t, tn, worker)
	served, err := api.ContentSHA256(ctx, worker, v1)
	if err != nil {
		t.Fatal(err)
	}
	if rec.VersionID != v1 || rec.BundleSHA256 != served {
		t.Fatalf("record version %s bundle %s; the sandbox serves %s with code %s", rec.VersionID, rec.BundleSHA256, v1, served)
	}
	// The fingerprint equals the one a dry-run build of the same tree gives.
	tt, err := tenant.Load(ctx, w.ws, tn)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tt.Resolve(tenant.Staging)
	if err != nil {
		t.Fatal(err)
	}
	dry, err := wrangler.New(w.ws, nil).Build(ctx, wrangler.Invocation{ConfigPath: tt.WranglerPath(), Env: "staging",
		AccountID: r.AccountID, Token: creds.NewSecret(tenants[0].token), ScratchDir: t.TempDir()}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dryFP, err := Fingerprint(dry, r)
	if err != nil {
		t.Fatal(err)
	}
	if dry.SHA256 != rec.BundleSHA256 || dryFP != rec.ConfigFingerprint {
		t.Fatalf("dry-run build: bundle %s fingerprint %s; the deploy recorded %s %s", dry.SHA256, dryFP, rec.BundleSHA256, rec.ConfigFingerprint)
	}
	// The live deployment names the fingerprint, the inputs and the bundle.
	d, err := api.LiveDeployment(ctx, worker)
	if err != nil {
		t.Fatal(err)
	}
	ann := ParseAnnotation(d.Message)
	if ann.Fingerprint != rec.ConfigFingerprint || ann.Bundle != rec.BundleSHA256 || len(ann.Inputs) != 64 || ann.Inputs != out.Plan.Inputs {
		t.Fatalf("annotation %q; record fp %s bundle %s, plan inputs %s", d.Message, rec.ConfigFingerprint, rec.BundleSHA256, out.Plan.Inputs)
	}
	// Its required secrets, as an operator sets them after a first deploy: a new version with
	// the same code, still carrying the fingerprint.
	w.setSecrets(t, tn, worker)
	v1 = w.live(t, tn, worker)
	versions := w.versions(t, tn, worker)

	// 2. Again: the bundle the deploy kept is the cache; no wrangler run.
	out, err = Run(ctx, w.opts(t, tn, "staging", nil))
	if err != nil || out.Record.Status != history.StatusUnchanged || wranglerRuns(t, out.RunDir) != 0 {
		t.Fatalf("redeploy with the cache: %v %s, %d wrangler runs", err, out.Record.Status, wranglerRuns(t, out.RunDir))
	}

	// 3. Another checkout (no .build): unchanged from the annotation alone, no wrangler run,
	// and the record still names the fingerprint and the code.
	if err := os.RemoveAll(w.ws.BuildDir()); err != nil {
		t.Fatal(err)
	}
	out, err = Run(ctx, w.opts(t, tn, "staging", nil))
	if err != nil || out.Record.Status != history.StatusUnchanged || wranglerRuns(t, out.RunDir) != 0 {
		t.Fatalf("redeploy without the cache: %v %s (%s), %d wrangler runs", err, out.Record.Status, out.Plan.Why, wranglerRuns(t, out.RunDir))
	}
	if out.Record.ConfigFingerprint != rec.ConfigFingerprint || out.Record.BundleSHA256 != served || out.Record.VersionID != v1 {
		t.Fatalf("unchanged record: fp %s bundle %s version %s", out.Record.ConfigFingerprint, out.Record.BundleSHA256, out.Record.VersionID)
	}
	if n := w.versions(t, tn, worker); n != versions {
		t.Fatalf("unchanged redeploys made versions: %d -> %d", versions, n)
	}

	// 4. A dry run without the cache builds, to show the plan, and agrees: unchanged.
	o := w.opts(t, tn, "staging", nil)
	o.DryRun = true
	out, err = Run(ctx, o)
	if err != nil || !out.Plan.Unchanged || out.Plan.Fingerprint != rec.ConfigFingerprint || wranglerRuns(t, out.RunDir) != 1 {
		t.Fatalf("dry run: %v %+v, %d wrangler runs", err, out.Plan, wranglerRuns(t, out.RunDir))
	}

	// 5. A code change: one wrangler run again, a new version, its code in the record.
	w.bumpCode(t, "direct")
	out, err = Run(ctx, w.opts(t, tn, "staging", nil))
	if err != nil || out.Record.Status != history.StatusSucceeded || wranglerRuns(t, out.RunDir) != 1 {
		t.Fatalf("changed deploy: %v %s, %d wrangler runs", err, out.Record.Status, wranglerRuns(t, out.RunDir))
	}
	v2 := w.live(t, tn, worker)
	served2, err := api.ContentSHA256(ctx, worker, v2)
	if err != nil {
		t.Fatal(err)
	}
	if v2 == v1 || out.Record.VersionID != v2 || out.Record.BundleSHA256 != served2 || served2 == served || out.Record.ConfigFingerprint == rec.ConfigFingerprint {
		t.Fatalf("changed deploy record %+v; live %s with code %s", out.Record, v2, served2)
	}
	if !strings.Contains(out.Plan.Why, "differ from the ones") {
		t.Fatalf("plan: %s", out.Plan.Why)
	}
}
