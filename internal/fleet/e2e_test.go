package fleet_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/fleet"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
)

// stagingKV is the KV namespace id the tenant's staging env binds.
func stagingKV(t *testing.T, w *testworld.World, name string) string {
	t.Helper()
	tt, err := tenant.Load(context.Background(), w.WS, name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tt.Resolve(tenant.Staging)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range r.Bindings {
		if b.Kind == "kv_namespaces" {
			return b.Target
		}
	}
	t.Fatal("no KV binding")
	return ""
}

const (
	first  = "mrrainbowsmoke" // sorted first: runs first
	second = "rainbowsmokeofficial"
)

type run struct {
	sum            fleet.Summary
	err            error
	stdout, stderr string
}

func deployAll(t *testing.T, w *testworld.World, o fleet.DeployAllOptions) run {
	t.Helper()
	var logs bytes.Buffer
	base, err := w.DeployOptions(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if o.Env == "" {
		o.Env = "staging"
	}
	if o.Parallel == 0 {
		o.Parallel = 1 // the target's default
	}
	o.Workspace, o.Stdout, o.Stderr = w.WS, &stdout, &stderr
	o.Prepare = func(context.Context) (deploy.Options, error) { return base, nil }
	sum, err := fleet.DeployAll(context.Background(), o)
	r := run{sum: sum, err: err, stdout: stdout.String(), stderr: stderr.String() + logs.String()}
	t.Logf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	return r
}

func (r run) status(t *testing.T, tenant string) fleet.Outcome {
	t.Helper()
	for _, o := range r.sum.Outcomes {
		if o.Tenant == tenant {
			return o
		}
	}
	t.Fatalf("no outcome for %s in %+v", tenant, r.sum.Outcomes)
	return fleet.Outcome{}
}

func liveVersion(t *testing.T, w *testworld.World, tenant string) string {
	t.Helper()
	d, err := w.API(tenant).LiveDeployment(context.Background(), tenant+"-api-staging")
	if errors.Is(err, cfapi.ErrNotDeployed) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return d.Primary().VersionID
}

func versionCount(t *testing.T, w *testworld.World, tenant string) int {
	t.Helper()
	vs, err := w.API(tenant).Versions(context.Background(), tenant+"-api-staging", 0)
	if errors.Is(err, cfapi.ErrNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(vs)
}

// TestDeployAllEndToEnd drives deploy:all with the real wrangler against the sandbox through
// the acceptance scenarios, in order, in one world (each step builds on the last).
func TestDeployAllEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs wrangler many times")
	}
	var requests testworld.RequestLog
	w := testworld.NewWithWrangler(t, testworld.Options{RequestLog: &requests})
	summaryFile := filepath.Join(t.TempDir(), "step-summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summaryFile)
	t.Setenv("NO_COLOR", "1")

	t.Run("both tenants deploy", func(t *testing.T) {
		r := deployAll(t, w, fleet.DeployAllOptions{})
		if r.err != nil {
			t.Fatalf("deploy:all failed: %v", r.err)
		}
		for _, tn := range []string{first, second} {
			o := r.status(t, tn)
			if o.Status != fleet.Succeeded || o.Version == "" || o.Version != liveVersion(t, w, tn) {
				t.Errorf("%s: %+v; live %s", tn, o, liveVersion(t, w, tn))
			}
			if !strings.Contains(o.URL, tn+"-api-staging."+tn+".workers.dev") {
				t.Errorf("%s: url %q", tn, o.URL)
			}
			if _, err := os.Stat(o.RecordPath); err != nil || !strings.HasPrefix(o.RecordPath, w.WS.DeploymentsDir()) {
				t.Errorf("%s: record %q: %v", tn, o.RecordPath, err)
			}
		}
		for _, want := range []string{"TENANT", "STATUS", "VERSION", "DURATION", "URL", first, second, "2 succeeded"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("summary lacks %q", want)
			}
		}
		if !strings.Contains(r.stderr, "] "+first) || !strings.Contains(r.stderr, "started") {
			t.Errorf("no tenant-prefixed progress on stderr")
		}
		md, _ := os.ReadFile(summaryFile)
		if !strings.Contains(string(md), "| "+first+" | succeeded |") {
			t.Errorf("step summary:\n%s", md)
		}
		// First deploys: each warns about the required secrets, which the operator sets next.
		if strings.Count(r.stderr, "first deploy of") != 2 || !strings.Contains(r.stderr, "secrets:put mrrainbowsmoke staging AI_GATEWAY_TOKEN") {
			t.Errorf("no first-deploy warning about the secrets per tenant")
		}
		// And the summary says it again, where the operator looks last.
		for _, tn := range []string{first, second} {
			if !strings.Contains(r.stdout, "note: "+tn+" is live without its required secrets AI_GATEWAY_TOKEN, WEBHOOK_SIGNING_KEY; set them: go tool mage secrets:put "+tn+" staging AI_GATEWAY_TOKEN < value-file") {
				t.Errorf("the summary does not name %s's missing secrets:\n%s", tn, r.stdout)
			}
		}
		for _, tn := range []string{first, second} {
			if err := w.SetSecrets(tn, "staging"); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("again: both unchanged, no new version", func(t *testing.T) {
		before := map[string]int{first: versionCount(t, w, first), second: versionCount(t, w, second)}
		r := deployAll(t, w, fleet.DeployAllOptions{JSON: true})
		if r.err != nil {
			t.Fatalf("deploy:all failed: %v", r.err)
		}
		var doc struct {
			Env     string `json:"env"`
			OK      bool   `json:"ok"`
			Tenants []struct {
				Tenant, Status string
			} `json:"tenants"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("stdout is not only the JSON document: %v", err)
		}
		if !doc.OK || doc.Env != "staging" || len(doc.Tenants) != 2 {
			t.Errorf("JSON: %+v", doc)
		}
		for _, d := range doc.Tenants {
			if d.Status != "unchanged" {
				t.Errorf("%s: %s, want unchanged", d.Tenant, d.Status)
			}
			if n := versionCount(t, w, d.Tenant); n != before[d.Tenant] {
				t.Errorf("%s: %d versions, had %d", d.Tenant, n, before[d.Tenant])
			}
		}
	})

	t.Run("parallel=2 after a code change", func(t *testing.T) {
		if err := w.ChangeCode("parallel"); err != nil {
			t.Fatal(err)
		}
		old := liveVersion(t, w, first)
		verifies := requests.Count("/tokens/verify")
		r := deployAll(t, w, fleet.DeployAllOptions{Parallel: 2})
		if r.err != nil {
			t.Fatalf("deploy:all failed: %v", r.err)
		}
		if r.sum.Parallel != 2 || r.status(t, first).Status != fleet.Succeeded || r.status(t, second).Status != fleet.Succeeded {
			t.Errorf("summary %+v", r.sum)
		}
		if liveVersion(t, w, first) == old {
			t.Error("no new version went live")
		}
		// The gate's preflight stands for each deploy's own: one token check per tenant.
		if n := requests.Count("/tokens/verify") - verifies; n != 2 {
			t.Errorf("%d token checks for 2 tenants; the deploys asked again instead of using the gate's report", n)
		}
		assertOneBuild(t, w, r, first, second)
	})

	t.Run("-rollout=50,100: each tenant's versions upload sends the shared bundle", func(t *testing.T) {
		if err := w.ChangeCode("rollout"); err != nil {
			t.Fatal(err)
		}
		r := deployAll(t, w, fleet.DeployAllOptions{Parallel: 2, Rollout: &deploy.Rollout{Percents: []float64{50, 100}}})
		if r.err != nil {
			t.Fatalf("deploy:all failed: %v", r.err)
		}
		assertOneBuild(t, w, r, first, second)
		for _, tn := range []string{first, second} {
			var rec history.Record
			if data, err := os.ReadFile(r.status(t, tn).RecordPath); err != nil || json.Unmarshal(data, &rec) != nil {
				t.Fatalf("%s: record: %v", tn, err)
			}
			// The gate at 0%, then 50 and 100.
			if len(rec.Rollout) != 3 || rec.Rollout[2].Percent != 100 {
				t.Errorf("%s: rollout steps %+v", tn, rec.Rollout)
			}
		}
	})

	t.Run("a shared build that fails: each tenant builds, fails and records it", func(t *testing.T) {
		src := filepath.Join(w.WS.WorkerDir(), "src", "index.ts")
		good, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(src, good, 0o644)
		if err := os.WriteFile(src, append(slices.Clone(good), []byte("\nexport const = ;\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
		live := map[string]string{first: liveVersion(t, w, first), second: liveVersion(t, w, second)}
		r := deployAll(t, w, fleet.DeployAllOptions{ContinueOnError: true})
		if r.err == nil {
			t.Fatal("exit 0 with code that does not build")
		}
		if !strings.Contains(r.stderr, "the shared build for "+first+", "+second+" failed, so each of them builds in its own deploy") {
			t.Errorf("the failed shared build is not reported")
		}
		for _, tn := range []string{first, second} {
			o := r.status(t, tn)
			if o.Status != fleet.Failed || o.RecordPath == "" {
				t.Errorf("%s: %+v, want failed with its own record", tn, o)
			}
			if got := liveVersion(t, w, tn); got != live[tn] {
				t.Errorf("%s: live %s, was %s", tn, got, live[tn])
			}
		}
	})

	t.Run("-buildEach=true: every tenant bundles its own upload", func(t *testing.T) {
		if err := w.ChangeCode("each"); err != nil {
			t.Fatal(err)
		}
		r := deployAll(t, w, fleet.DeployAllOptions{Parallel: 2, BuildEach: true})
		if r.err != nil {
			t.Fatalf("deploy:all failed: %v", r.err)
		}
		if strings.Contains(r.stderr, "one bundle for") {
			t.Error("a shared build ran although -buildEach was given")
		}
		for _, tn := range []string{first, second} {
			if args := uploadArgs(t, r.status(t, tn)); slices.Contains(args, "--no-bundle") {
				t.Errorf("%s: wrangler did not bundle: %v", tn, args)
			}
		}
	})

	t.Run("only one tenant", func(t *testing.T) {
		if err := w.ChangeCode("only"); err != nil {
			t.Fatal(err)
		}
		before := versionCount(t, w, first)
		r := deployAll(t, w, fleet.DeployAllOptions{Only: second})
		if r.err != nil {
			t.Fatalf("deploy:all failed: %v", r.err)
		}
		if len(r.sum.Outcomes) != 1 || r.sum.Outcomes[0].Tenant != second || r.sum.Outcomes[0].Status != fleet.Succeeded {
			t.Errorf("outcomes %+v", r.sum.Outcomes)
		}
		if versionCount(t, w, first) != before {
			t.Errorf("%s was deployed although not selected", first)
		}
	})

	t.Run("unknown only name refused before anything runs", func(t *testing.T) {
		before := versionCount(t, w, second)
		r := deployAll(t, w, fleet.DeployAllOptions{Only: second + ",ghost"})
		if r.err == nil || !strings.Contains(r.err.Error(), "ghost") || len(r.sum.Outcomes) != 0 {
			t.Fatalf("err=%v outcomes=%+v", r.err, r.sum.Outcomes)
		}
		if versionCount(t, w, second) != before {
			t.Error("something was deployed")
		}
	})

	t.Run("missing token stops the fleet by default", func(t *testing.T) {
		if err := w.ChangeCode("token"); err != nil {
			t.Fatal(err)
		}
		w.Withhold(first, true)
		defer w.Withhold(first, false)
		before := versionCount(t, w, second)
		r := deployAll(t, w, fleet.DeployAllOptions{})
		if r.err == nil {
			t.Fatal("exit 0 with a failed tenant")
		}
		o := r.status(t, first)
		if o.Status != fleet.Failed || !strings.Contains(o.Error, "CLOUDFLARE_API_TOKEN_MRRAINBOWSMOKE") {
			t.Errorf("%s: %+v", first, o)
		}
		if s := r.status(t, second); s.Status != fleet.Skipped {
			t.Errorf("%s: %s, want skipped", second, s.Status)
		}
		if versionCount(t, w, second) != before {
			t.Errorf("%s was deployed after the first failure", second)
		}
		if !strings.Contains(r.stdout, "1 failed, 1 skipped") {
			t.Errorf("summary counts wrong")
		}
		// The error points at the folder the records went to, not always deployments/.
		if rel, _ := filepath.Rel(w.WS.Root, w.WS.DeploymentsDir()); !strings.Contains(r.err.Error(), "records in "+filepath.ToSlash(rel)+"/") {
			t.Errorf("error does not point at %s: %v", rel, r.err)
		}
	})

	t.Run("missing token with continueOnError deploys the rest", func(t *testing.T) {
		w.Withhold(first, true)
		defer w.Withhold(first, false)
		r := deployAll(t, w, fleet.DeployAllOptions{ContinueOnError: true})
		if r.err == nil {
			t.Fatal("exit 0 with an unready tenant")
		}
		// Unready at preflight: skipped with the reason, the other deployed.
		o := r.status(t, first)
		if o.Status != fleet.Skipped || !strings.Contains(o.Error, "CLOUDFLARE_API_TOKEN_MRRAINBOWSMOKE") || r.status(t, second).Status != fleet.Succeeded {
			t.Errorf("outcomes %+v", r.sum.Outcomes)
		}
		if !strings.Contains(r.stdout, "1 succeeded, 1 skipped") {
			t.Errorf("summary counts wrong")
		}
	})

	t.Run("one unready account: nothing uploads for any tenant", func(t *testing.T) {
		if err := w.ChangeCode("unready"); err != nil {
			t.Fatal(err)
		}
		// The staging id of the second tenant is gone from its account.
		staging := stagingKV(t, w, second)
		if err := w.Sandbox.MutateResources(sandbox.ResourceMutation{AccountID: w.Tenant(second).AccountID, Op: "delete_kv_namespace", ID: staging}); err != nil {
			t.Fatal(err)
		}
		before := map[string]int{first: versionCount(t, w, first), second: versionCount(t, w, second)}
		r := deployAll(t, w, fleet.DeployAllOptions{Parallel: 2})
		if r.err == nil {
			t.Fatal("exit 0 with an unready tenant")
		}
		o := r.status(t, second)
		if o.Status != fleet.Failed || !strings.Contains(o.Error, "CACHE") || !strings.Contains(o.Error, staging) || !strings.Contains(o.Error, w.Tenant(second).AccountID) {
			t.Errorf("%s: %+v", second, o)
		}
		if s := r.status(t, first); s.Status != fleet.Skipped || !strings.Contains(s.Error, "preflight") {
			t.Errorf("%s: %+v", first, s)
		}
		for tn, n := range before {
			if versionCount(t, w, tn) != n {
				t.Errorf("%s got a new version although one tenant was not ready", tn)
			}
		}
		// With -continueOnError the ready one deploys and the unready one is skipped.
		r = deployAll(t, w, fleet.DeployAllOptions{ContinueOnError: true})
		if r.err == nil || r.status(t, first).Status != fleet.Succeeded || r.status(t, second).Status != fleet.Skipped ||
			!strings.Contains(r.status(t, second).Error, "CACHE") || versionCount(t, w, second) != before[second] {
			t.Errorf("continueOnError: err %v, outcomes %+v", r.err, r.sum.Outcomes)
		}
		var doc struct {
			OK      bool     `json:"ok"`
			Unready []string `json:"unready"`
		}
		var js bytes.Buffer
		if err := r.sum.WriteJSON(&js); err != nil || json.Unmarshal(js.Bytes(), &doc) != nil {
			t.Fatalf("JSON summary: %v\n%s", err, js.String())
		}
		if doc.OK || !slices.Equal(doc.Unready, []string{second}) {
			t.Errorf("a run that skipped an unready tenant says ok=%v, unready %v:\n%s", doc.OK, doc.Unready, js.String())
		}
		if err := w.Sandbox.MutateResources(sandbox.ResourceMutation{AccountID: w.Tenant(second).AccountID, Op: "add_kv_namespace", ID: staging}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("failing canary deploys nothing else", func(t *testing.T) {
		if err := w.ChangeCode("canary"); err != nil {
			t.Fatal(err)
		}
		w.Withhold(second, true)
		defer w.Withhold(second, false)
		before := versionCount(t, w, first)
		r := deployAll(t, w, fleet.DeployAllOptions{Canary: second, ContinueOnError: true, Parallel: 2})
		if r.err == nil {
			t.Fatal("exit 0 with a failed canary")
		}
		if r.status(t, second).Status != fleet.Failed || r.status(t, first).Status != fleet.Skipped {
			t.Errorf("outcomes %+v", r.sum.Outcomes)
		}
		if !strings.Contains(r.status(t, first).Error, "canary "+second) {
			t.Errorf("skip reason %q", r.status(t, first).Error)
		}
		if versionCount(t, w, first) != before {
			t.Errorf("%s was deployed after the canary failed", first)
		}
	})

	t.Run("waves: a failing canary in wave 1 stops wave 2", func(t *testing.T) {
		if err := w.ChangeCode("waves"); err != nil {
			t.Fatal(err)
		}
		w.Withhold(second, true)
		before := versionCount(t, w, first)
		r := deployAll(t, w, fleet.DeployAllOptions{Waves: "1,100%", Canary: second, Parallel: 2})
		w.Withhold(second, false)
		// The canary's missing token is found by the fleet's preflight, before wave 1 starts.
		if r.err == nil || r.status(t, second).Status != fleet.Failed {
			t.Fatalf("err %v, outcomes %+v", r.err, r.sum.Outcomes)
		}
		if s := r.status(t, first); s.Status != fleet.Skipped || !strings.Contains(s.Error, second) {
			t.Errorf("%s: %+v, want skipped because the canary failed", first, s)
		}
		if versionCount(t, w, first) != before {
			t.Errorf("%s was deployed after wave 1 failed", first)
		}
	})

	t.Run("waves: the canary first, then the rest", func(t *testing.T) {
		r := deployAll(t, w, fleet.DeployAllOptions{Waves: "1,100%", Canary: second})
		if r.err != nil {
			t.Fatalf("deploy:all -waves: %v", r.err)
		}
		c, o := r.status(t, second), r.status(t, first)
		if c.Status != fleet.Succeeded || c.Wave != 1 || o.Status != fleet.Succeeded || o.Wave != 2 {
			t.Fatalf("outcomes %+v", r.sum.Outcomes)
		}
		if !strings.Contains(r.stdout, "WAVE") || startLine(r.stderr, second) > startLine(r.stderr, first) {
			t.Errorf("the summary lacks the wave column, or %s did not start first", second)
		}
	})

	t.Run("dev refused", func(t *testing.T) {
		r := deployAll(t, w, fleet.DeployAllOptions{Env: "dev"})
		if r.err == nil || !strings.Contains(r.err.Error(), "deploy:tenant <tenant> dev") {
			t.Fatalf("err = %v", r.err)
		}
	})

	// The records stayed in the temporary workspace.
	if ents, _ := os.ReadDir(w.WS.DeploymentsDir()); len(ents) == 0 {
		t.Error("no records written to the world's deployments/")
	}
}

// startLine is the index of the progress line saying tenant started.
func startLine(progress, tenant string) int {
	for i, l := range strings.Split(progress, "\n") {
		_, rest, _ := strings.Cut(l, "] ")
		if f := strings.Fields(rest); len(f) >= 2 && f[0] == tenant && f[1] == "started" {
			return i
		}
	}
	return -1
}

// uploadArgs are the arguments of the wrangler run that uploaded the tenant's version (a deploy
// or a versions upload), from
// the ND-JSON session entry wrangler wrote in the run's scratch folder (kept beside its log).
func uploadArgs(t *testing.T, o fleet.Outcome) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(o.LogPath), "wrangler-run-*", "output.ndjson"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Type string   `json:"type"`
			Args []string `json:"command_line_args"`
		}
		for _, line := range strings.Split(string(data), "\n") {
			if json.Unmarshal([]byte(line), &e) != nil || e.Type != "wrangler-session" {
				continue
			}
			if len(e.Args) > 0 && e.Args[0] == "deploy" || len(e.Args) > 1 && e.Args[0] == "versions" && e.Args[1] == "upload" {
				return e.Args
			}
		}
	}
	t.Fatalf("%s: no wrangler deploy run found beside %s", o.Tenant, o.LogPath)
	return nil
}

// assertOneBuild checks that the fleet bundled once and that each tenant uploaded that very
// bundle without bundling again, with the record and the live code agreeing on its sha256.
func assertOneBuild(t *testing.T, w *testworld.World, r run, tenants ...string) {
	t.Helper()
	if !strings.Contains(r.stderr, fmt.Sprintf("one bundle for %d tenant(s)", len(tenants))) {
		t.Errorf("no shared build reported on stderr")
	}
	var shared string
	for _, tn := range tenants {
		o := r.status(t, tn)
		args := uploadArgs(t, o)
		i := slices.Index(args, "--no-bundle")
		if i < 1 || !strings.HasPrefix(args[i-1], filepath.Join(w.WS.BuildDir(), ".shared")+string(filepath.Separator)) {
			t.Fatalf("%s: wrangler was not given the shared bundle: %v", tn, args)
		}
		if shared == "" {
			shared = args[i-1]
		} else if args[i-1] != shared {
			t.Errorf("%s uploaded %s, %s uploaded %s", tenants[0], shared, tn, args[i-1])
		}
		data, err := os.ReadFile(shared)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		want := hex.EncodeToString(sum[:])
		live, err := w.API(tn).ContentSHA256(context.Background(), tn+"-api-staging", "")
		if err != nil {
			t.Fatal(err)
		}
		var rec history.Record
		if data, err := os.ReadFile(o.RecordPath); err != nil || json.Unmarshal(data, &rec) != nil {
			t.Fatalf("%s: record %s: %v", tn, o.RecordPath, err)
		}
		if live != want || rec.BundleSHA256 != want || rec.ConfigFingerprint == "" {
			t.Errorf("%s: shared bundle %s, live code %s, record %s (fingerprint %q)", tn, want, live, rec.BundleSHA256, rec.ConfigFingerprint)
		}
	}
}
