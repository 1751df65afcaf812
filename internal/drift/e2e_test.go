package drift_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/drift"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

const (
	tn     = "mrrainbowsmoke"
	worker = "mrrainbowsmoke-api-staging"
)

var requiredSecrets = []string{"AI_GATEWAY_TOKEN", "WEBHOOK_SIGNING_KEY"}

type driftRun struct {
	reports        []drift.Report
	code           int
	stdout, stderr string
}

func runDrift(t *testing.T, w *testworld.World, target string, asJSON bool, sources *drift.Sources) driftRun {
	t.Helper()
	if sources == nil {
		sources = w.DriftSources(nil)
	}
	var stdout, stderr bytes.Buffer
	reps, err := drift.Main(context.Background(), drift.CommandOptions{
		Target: target, Env: "staging", Workspace: w.WS, Stderr: &stderr,
		Sources: func(context.Context) (*drift.Sources, error) { return sources, nil },
	})
	if err != nil {
		t.Fatalf("drift %s: %v\n%s", target, err, stderr.String())
	}
	if err := drift.Write(&stdout, &stderr, reps, asJSON); err != nil {
		t.Fatal(err)
	}
	code := drift.ExitCode(reps)
	r := driftRun{reports: reps, code: code, stdout: stdout.String(), stderr: stderr.String()}
	t.Logf("drift %s: exit %d\n%s%s", target, code, r.stderr, r.stdout)
	return r
}

func deployTenant(t *testing.T, w *testworld.World, name string, force bool) {
	t.Helper()
	opts, err := w.DeployOptions(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	opts.Tenant, opts.Env, opts.Force = tenant.Name(name), tenant.Staging, force
	if out, err := deploy.Run(context.Background(), opts); err != nil {
		t.Fatalf("deploy %s: %v (%+v)", name, err, out.Record)
	}
}

func mutate(t *testing.T, w *testworld.World, m sandbox.Mutation) {
	t.Helper()
	m.AccountID, m.Script = w.Tenant(tn).AccountID, worker
	if err := w.Sandbox.Mutate(m); err != nil {
		t.Fatal(err)
	}
}

// only asserts the report of tn is drifted with exactly want, plus, when the change made a
// new version outside the tool, the "version" change that says so.
func only(t *testing.T, r driftRun, outsideVersion bool, want drift.Changes) {
	t.Helper()
	if r.code != drift.ExitDrift || len(r.reports) != 1 || r.reports[0].Status != drift.Drifted {
		t.Fatalf("exit %d, reports %+v", r.code, r.reports)
	}
	got := r.reports[0].Changes
	var versionChanges []drift.Change
	var changed []drift.Change
	for _, c := range got.Changed {
		if c.Field == "version" {
			versionChanges = append(versionChanges, c)
		} else {
			changed = append(changed, c)
		}
	}
	if outsideVersion != (len(versionChanges) == 1) {
		t.Errorf("version changes %+v, want one: %v", versionChanges, outsideVersion)
	}
	if !sameChanges(got.Added, want.Added) || !sameChanges(got.Removed, want.Removed) || !sameChanges(changed, want.Changed) {
		t.Errorf("changes\n got %+v\nwant %+v", got, want)
	}
}

func sameChanges(a, b []drift.Change) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func setSecrets(t *testing.T, w *testworld.World, name string) {
	t.Helper()
	for _, s := range requiredSecrets {
		if err := w.Sandbox.Mutate(sandbox.Mutation{AccountID: w.Tenant(name).AccountID, Script: name + "-api-staging", Op: "set_secret", Name: s, Value: "v-" + s}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDriftEndToEnd deploys both tenants with the real pipeline, then makes each out-of-band
// change in the sandbox and expects drift to name exactly that change.
func TestDriftEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs wrangler")
	}
	w := testworld.NewWithWrangler(t, testworld.Options{})
	t.Setenv("NO_COLOR", "1")

	t.Run("not deployed is missing", func(t *testing.T) {
		r := runDrift(t, w, "all", false, nil)
		if r.code != drift.ExitDrift || r.reports[0].Status != drift.Missing || r.reports[1].Status != drift.Missing {
			t.Fatalf("exit %d %+v", r.code, r.reports)
		}
	})

	for _, name := range w.Names() {
		deployTenant(t, w, name, false)
		setSecrets(t, w, name)
	}

	t.Run("right after deploy: in sync, exit 0", func(t *testing.T) {
		r := runDrift(t, w, "all", true, nil)
		if r.code != drift.ExitInSync {
			t.Fatalf("exit %d: %+v", r.code, r.reports)
		}
		var doc []map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc) != 2 {
			t.Fatalf("stdout is not the JSON array (%v): %q", err, r.stdout)
		}
		for _, d := range doc {
			if d["status"] != "in_sync" {
				t.Errorf("%v", d)
			}
		}
	})

	t.Run("var changed", func(t *testing.T) {
		mutate(t, w, sandbox.Mutation{Op: "set_var", Name: "LOG_LEVEL", Value: "debug"})
		only(t, runDrift(t, w, tn, false, nil), true, drift.Changes{Changed: []drift.Change{{Field: "vars.LOG_LEVEL", Expected: "info", Actual: "debug"}}})
		deployTenant(t, w, tn, true)
	})

	t.Run("required secret deleted", func(t *testing.T) {
		mutate(t, w, sandbox.Mutation{Op: "delete_secret", Name: "WEBHOOK_SIGNING_KEY"})
		r := runDrift(t, w, tn, true, nil)
		only(t, r, false, drift.Changes{Removed: []drift.Change{{Field: "secrets.WEBHOOK_SIGNING_KEY", Expected: "set (value not compared)"}}})
		var doc []struct {
			Tenant, Env, Status string
			Changes             struct{ Added, Removed, Changed []drift.Change }
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc) != 1 || doc[0].Changes.Removed[0].Field != "secrets.WEBHOOK_SIGNING_KEY" {
			t.Errorf("JSON (%v): %s", err, r.stdout)
		}
		if strings.Contains(r.stdout+r.stderr, "v-WEBHOOK") || strings.Contains(r.stdout+r.stderr, "v-AI_GATEWAY") {
			t.Error("a secret value appears in the output")
		}
		mutate(t, w, sandbox.Mutation{Op: "set_secret", Name: "WEBHOOK_SIGNING_KEY", Value: "v-WEBHOOK_SIGNING_KEY"})
	})

	t.Run("cron changed", func(t *testing.T) {
		mutate(t, w, sandbox.Mutation{Op: "set_crons", Crons: []string{"*/5 * * * *"}})
		only(t, runDrift(t, w, tn, false, nil), false, drift.Changes{
			Added:   []drift.Change{{Field: "triggers.crons", Actual: "*/5 * * * *"}},
			Removed: []drift.Change{{Field: "triggers.crons", Expected: "0 * * * *"}},
		})
		deployTenant(t, w, tn, true)
	})

	t.Run("binding removed", func(t *testing.T) {
		mutate(t, w, sandbox.Mutation{Op: "remove_binding", Name: "CACHE"})
		r := runDrift(t, w, tn, false, nil)
		if len(r.reports) == 1 && len(r.reports[0].Changes.Removed) == 1 {
			if c := r.reports[0].Changes.Removed[0]; c.Field != "bindings.CACHE" || !strings.HasPrefix(c.Expected, "kv_namespace CACHE") {
				t.Errorf("removed %+v", c)
			}
		}
		rep := r.reports[0]
		if r.code != drift.ExitDrift || len(rep.Changes.Removed) != 1 || len(rep.Changes.Added) != 0 || len(rep.Changes.Changed) != 1 || rep.Changes.Changed[0].Field != "version" {
			t.Errorf("exit %d changes %+v", r.code, rep.Changes)
		}
		deployTenant(t, w, tn, true)
	})

	t.Run("different script uploaded with bare wrangler", func(t *testing.T) {
		// Another copy of the Worker with one more line, deployed by wrangler directly (as
		// someone on a laptop would), with the tenant's own config otherwise.
		dir := t.TempDir()
		src, err := os.ReadFile(filepath.Join(w.WS.WorkerDir(), "src", "index.ts"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(filepath.Join(dir, "src"), os.DirFS(filepath.Join(w.WS.WorkerDir(), "src"))); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "src", "index.ts"), append(src, []byte("\nexport const hotfix = \"by hand\";\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := os.ReadFile(filepath.Join(w.WS.TenantDir(tn), "wrangler.jsonc"))
		if err != nil {
			t.Fatal(err)
		}
		cfg = []byte(strings.ReplaceAll(string(cfg), `"../../apps/worker-api/src/index.ts"`, `"src/index.ts"`))
		cfg = []byte(strings.ReplaceAll(string(cfg), `"$schema": "../../node_modules/wrangler/config-schema.json",`, ""))
		if err := os.WriteFile(filepath.Join(dir, "wrangler.jsonc"), cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		runner := wrangler.New(w.WS, nil)
		res, err := runner.Deploy(context.Background(), wrangler.Invocation{
			ConfigPath: filepath.Join(dir, "wrangler.jsonc"), Env: "staging", AccountID: w.Tenant(tn).AccountID,
			Token: creds.NewSecret(w.Tenant(tn).Token), APIBaseURL: w.APIBaseURL, ScratchDir: t.TempDir(),
		})
		if err != nil {
			t.Fatalf("bare wrangler deploy: %v", err)
		}
		r := runDrift(t, w, tn, false, nil)
		rep := r.reports[0]
		if r.code != drift.ExitDrift || rep.LiveVersion != res.VersionID {
			t.Fatalf("exit %d live %s (wrangler deployed %s)", r.code, rep.LiveVersion, res.VersionID)
		}
		var code, version int
		for _, c := range rep.Changes.Changed {
			switch c.Field {
			case "code":
				code++
				if c.Expected == c.Actual || !strings.HasPrefix(c.Actual, "sha256:") {
					t.Errorf("code change %+v", c)
				}
			case "version":
				version++
				if !strings.Contains(c.Actual, res.VersionID) {
					t.Errorf("version change %+v", c)
				}
			}
		}
		if code != 1 || version != 1 || rep.Changes.Count() != 2 {
			t.Errorf("changes %+v, want exactly code and version", rep.Changes)
		}
		deployTenant(t, w, tn, true)
	})

	t.Run("compat date changed", func(t *testing.T) {
		mutate(t, w, sandbox.Mutation{Op: "set_compat_date", Value: "2025-06-01"})
		only(t, runDrift(t, w, tn, false, nil), true, drift.Changes{Changed: []drift.Change{{Field: "compatibility_date", Expected: "2026-01-20", Actual: "2025-06-01"}}})
		deployTenant(t, w, tn, true)
	})

	t.Run("429 storm: drift all completes within each token's budget", func(t *testing.T) {
		// Each token may make 5 requests per 2 s on the sandbox (a check needs 7), and the
		// first 6 reads of anyone get a 429 on top: every tenant is refused at least once.
		w.Sandbox.SetRateLimit(5, 2*time.Second)
		w.Sandbox.AddFault(sandbox.Fault{Method: "GET", Path: "/accounts/*/workers/**", Status: 429, RetryAfter: "1", Count: 6})
		defer w.Sandbox.SetRateLimit(1200, 5*time.Minute)
		budget := cfapi.Budget{Requests: 30, Window: time.Minute}
		before := map[string]int{}
		for _, n := range w.Names() {
			before[n] = w.Sandbox.RequestCount(w.Tenant(n).Token)
		}
		sources := drift.NewSources(drift.Sources{Workspace: w.WS, APIBaseURL: w.APIBaseURL, HTTPClient: w.HTTPClient,
			Lookup: w.Lookup, Budget: budget, RateLimitWait: time.Minute}, 2)
		start := time.Now()
		r := runDrift(t, w, "all", false, sources)
		if r.code != drift.ExitInSync {
			t.Fatalf("exit %d: %+v", r.code, r.reports)
		}
		if time.Since(start) < time.Second {
			t.Errorf("finished in %s: the 429s were not waited out", time.Since(start))
		}
		refused := 0
		for _, n := range w.Names() {
			used := w.Sandbox.RequestCount(w.Tenant(n).Token) - before[n]
			if used > budget.Requests {
				t.Errorf("%s: %d requests, budget %d", n, used, budget.Requests)
			}
			if used < drift.RequestsPerTenant {
				t.Errorf("%s: only %d requests counted", n, used)
			}
			refused += used - drift.RequestsPerTenant
		}
		if refused == 0 {
			t.Error("no request was refused: the storm did not happen")
		}
	})
}
