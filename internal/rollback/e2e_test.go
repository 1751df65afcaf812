package rollback_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/deploytag"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
	"github.com/rainbowsmoke/crispy-enigma/internal/rollback"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/secrets"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

const (
	tenantA  = "mrrainbowsmoke"
	accountA = "4f1c2b7e9a0d43c8b6e5f70192a3b4c5"
	workerA  = "mrrainbowsmoke-api-staging"
	tenantB  = "rainbowsmokeofficial"
	accountB = "9e8d7c6b5a4f43e2a1b0c9d8e7f6a5b4"
)

type world struct {
	t   testing.TB
	ws  workspace.Workspace
	sb  *testworld.Sandbox
	log *slog.Logger
}

func newWorld(t testing.TB) *world {
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo)
	ws := testrepo.Copy(t, repo, testrepo.Options{Code: false, Git: true})
	return &world{t: t, ws: ws, sb: testworld.StartSandbox(t, ws), log: slog.New(slog.DiscardHandler)}
}

// deploy runs the real deploy pipeline (real wrangler) and returns the version it put live.
// Before a Worker's first deploy it sets the Worker up as an operator would: a first deploy,
// then its required secrets (later deploys' preflight requires them), so that every version
// the test deploys carries the same secrets and rolling between them is not refused.
func (w *world) deploy(tenant, env string) string {
	w.t.Helper()
	worker := tenant + "-api-" + env
	if env == "production" {
		worker = tenant + "-api"
	}
	api, err := cfapi.New(cfapi.Config{BaseURL: w.sb.APIBaseURL(), Token: w.sb.Server.Token(w.account(tenant)), AccountID: w.account(tenant)})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := api.Script(context.Background(), worker); errors.Is(err, cfapi.ErrNotFound) {
		w.firstDeploy(tenant, env)
		vals := []secrets.Value{{Name: "AI_GATEWAY_TOKEN", Value: "test-ai-token"}, {Name: "WEBHOOK_SIGNING_KEY", Value: "test-webhook-key"}}
		if _, err := secrets.Put(context.Background(), api, worker, vals); err != nil {
			w.t.Fatal(err)
		}
	}
	return w.firstDeploy(tenant, env)
}

func (w *world) account(tenant string) string {
	if tenant == tenantA {
		return accountA
	}
	return accountB
}

// firstDeploy is one run of the deploy pipeline, nothing else.
func (w *world) firstDeploy(tn, env string) string {
	w.t.Helper()
	out, err := deploy.Run(context.Background(), deploy.Options{
		Workspace: w.ws, Tenant: tenant.Name(tn), Env: tenant.Env(env), Force: true,
		APIBaseURL: w.sb.APIBaseURL(), HTTPClient: w.sb.Edge,
		SandboxToken:   func(a string) (string, bool) { tok := w.sb.Server.Token(a); return tok, tok != "" },
		HealthDeadline: 15 * time.Second, Log: w.log,
	})
	if err != nil {
		w.t.Fatalf("deploy %s/%s: %v", tn, env, err)
	}
	if out.Record.VersionID == "" {
		w.t.Fatalf("deploy %s/%s: no version id in %+v", tn, env, out.Record)
	}
	return out.Record.VersionID
}

func (w *world) rollback(tn, env string, opt rollback.Options) (rollback.Outcome, error) {
	return rollback.Command(context.Background(), w.ws, w.log, tenant.Name(tn), tenant.Env(env), opt)
}

// api calls the sandbox's Cloudflare API as account A.
func (w *world) api(method, path string, body any) map[string]any {
	w.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, w.sb.APIBaseURL()+"/accounts/"+accountA+path, rd)
	req.Header.Set("Authorization", "Bearer "+w.sb.Server.Token(accountA))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	var env map[string]any
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil || env["success"] != true {
		w.t.Fatalf("%s %s: %v %v", method, path, env, err)
	}
	return env
}

// live is the version serving account A's staging Worker, from the API.
func (w *world) live() string {
	w.t.Helper()
	res := w.api("GET", "/workers/scripts/"+workerA+"/deployments", nil)["result"].(map[string]any)
	d := res["deployments"].([]any)[0].(map[string]any)
	return d["versions"].([]any)[0].(map[string]any)["version_id"].(string)
}

func (w *world) records(tenant, env string) []history.Entry {
	w.t.Helper()
	es, err := history.Open(w.ws.DeploymentsDir()).List(tenant, env)
	if err != nil {
		w.t.Fatal(err)
	}
	return es
}

func TestRollbackEndToEnd(t *testing.T) {
	w := newWorld(t)
	v1 := w.deploy(tenantA, "staging")
	v2 := w.deploy(tenantA, "staging")
	if v1 == v2 || w.live() != v2 {
		t.Fatalf("setup: v1 %s v2 %s live %s", v1, v2, w.live())
	}

	// Back to the previous good version: v1 live, health verified, record written.
	start := time.Now()
	o, err := w.rollback(tenantA, "staging", rollback.Options{Reason: "v2 breaks checkout"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rollback took %s", time.Since(start).Round(time.Millisecond))
	if w.live() != v1 || o.ToVersionID != v1 || o.FromVersionID != v2 || o.Source != rollback.FromHistory {
		t.Fatalf("live %s, outcome %+v; want v1 %s from history", w.live(), o, v1)
	}
	if o.Health == nil || !o.Health.OK || o.Health.SeenVersion != v1 {
		t.Fatalf("health not verified on v1: %+v", o.Health)
	}
	recs := w.records(tenantA, "staging")
	r := recs[0].Record
	if r.Kind != history.KindRollback || r.Status != history.StatusSucceeded || r.PreviousVersionID != v2 || r.VersionID != v1 ||
		r.Actor == "" || !strings.Contains(r.Reason, "v2 breaks checkout") || r.Health == nil || !r.Health.OK {
		t.Fatalf("rollback record = %+v", r)
	}

	// The same again with -to naming the live version: already live, nothing changed.
	o, err = w.rollback(tenantA, "staging", rollback.Options{To: v1})
	if err != nil || o.Status != rollback.StatusAlreadyLive || len(w.records(tenantA, "staging")) != len(recs) {
		t.Fatalf("already live: %+v %v", o, err)
	}

	// -to puts v2 back.
	if _, err := w.rollback(tenantA, "staging", rollback.Options{To: v2}); err != nil {
		t.Fatal(err)
	}
	if w.live() != v2 {
		t.Fatalf("live %s after -to=%s", w.live(), v2)
	}

	// A secret changes (a new version goes live); rolling back to v1 is refused and names it.
	w.api("PUT", "/workers/scripts/"+workerA+"/secrets", map[string]string{"name": "WEBHOOK_SIGNING_KEY", "text": "rotated-value", "type": "secret_text"})
	afterSecret := w.live()
	before := len(w.records(tenantA, "staging"))
	_, err = w.rollback(tenantA, "staging", rollback.Options{To: v1})
	if !errors.Is(err, rollback.ErrSecretsChanged) || !strings.Contains(err.Error(), "WEBHOOK_SIGNING_KEY") || !strings.Contains(err.Error(), "-force=true") {
		t.Fatalf("secret change not refused by name: %v", err)
	}
	if w.live() != afterSecret {
		t.Fatal("a refused rollback changed something")
	}
	// It is an attempt like a refused deploy: one failed record saying why.
	if rs := w.records(tenantA, "staging"); len(rs) != before+1 || rs[0].Record.Status != history.StatusFailed || !strings.Contains(rs[0].Record.Error, "WEBHOOK_SIGNING_KEY") {
		t.Fatalf("refused rollback's record: %d records (%d before)", len(rs), before)
	}
	o, err = w.rollback(tenantA, "staging", rollback.Options{To: v1, Force: true})
	if err != nil || w.live() != v1 || strings.Join(o.OverriddenSecrets, ",") != "WEBHOOK_SIGNING_KEY" {
		t.Fatalf("forced rollback: live %s, %+v, %v", w.live(), o, err)
	}
	if r := w.records(tenantA, "staging")[0].Record; !strings.Contains(r.Reason, "WEBHOOK_SIGNING_KEY") {
		t.Errorf("forced record does not say which secrets it went past: %q", r.Reason)
	}

	// The account's token appears in no output and no record.
	var shown bytes.Buffer
	o.Text(&shown)
	json.NewEncoder(&shown).Encode(o)
	files, _ := filepath.Glob(filepath.Join(w.ws.DeploymentsDir(), "*.json"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		shown.Write(b)
	}
	if tok := w.sb.Server.Token(accountA); strings.Contains(shown.String(), tok) {
		t.Fatal("the token appears in the rollback's output or records")
	}

	// A deploy holding the tenant/env lock blocks a rollback at once, naming the holder.
	held, err := lock.Acquire(filepath.Join(w.ws.StateDir(), "locks"), tenantA, "staging", lock.Options{Command: "deploy:tenant mrrainbowsmoke staging"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.rollback(tenantA, "staging", rollback.Options{To: v2})
	var he *lock.HeldError
	if !errors.As(err, &he) || !strings.Contains(err.Error(), "deploy:tenant") || w.live() != v1 {
		t.Fatalf("rollback under a deploy's lock: %v (live %s)", err, w.live())
	}
	held.Release()

	if probs, err := history.Verify(w.ws.DeploymentsDir()); err != nil || len(probs) != 0 {
		t.Fatalf("records written by deploy and rollback do not verify: %v %v", probs, err)
	}
}

func TestRollbackWithoutEarlierVersion(t *testing.T) {
	w := newWorld(t)
	// Never deployed.
	_, err := w.rollback(tenantB, "production", rollback.Options{})
	if !errors.Is(err, rollback.ErrNotDeployed) {
		t.Fatalf("never deployed: %v", err)
	}
	// One deployment, and its record gone: no history, no earlier deployment.
	w.firstDeploy(tenantB, "staging")
	files, _ := filepath.Glob(filepath.Join(w.ws.DeploymentsDir(), tenantB+"-staging-*.json"))
	for _, f := range files {
		os.Remove(f)
	}
	_, err = w.rollback(tenantB, "staging", rollback.Options{})
	if !errors.Is(err, rollback.ErrNoTarget) || !strings.Contains(err.Error(), "-to=") {
		t.Fatalf("no target: %v", err)
	}
	if es := w.records(tenantB, "staging"); len(es) != 1 || es[0].Record.Status != history.StatusFailed || !strings.Contains(es[0].Record.Error, "refused") {
		t.Fatalf("a refused rollback wrote %d records, want one failed", len(es))
	}
}

// commit records a change in the copy's git repository.
func (w *world) commit(msg string) {
	w.t.Helper()
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", msg}} {
		if out, err := exec.Command("git", append([]string{"-C", w.ws.Root}, args...)...).CombinedOutput(); err != nil {
			w.t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// tag makes sure the newest production record of tenant A has its deploy tag and returns it.
func (w *world) tag() string {
	w.t.Helper()
	ctx := context.Background()
	e := w.records(tenantA, "production")[0]
	if tags, _ := deploytag.List(ctx, w.ws.Root, tenantA); len(tags) > 0 && tags[0].At.Equal(e.Record.FinishedAt.UTC().Truncate(time.Second)) {
		return tags[0].Name // the deploy pipeline tagged it itself
	}
	name, err := deploytag.Create(ctx, w.ws.Root, deploytag.FromRecord(e.Record, e.Path))
	if err != nil {
		w.t.Fatal(err)
	}
	return name
}

func TestRedeployFromTag(t *testing.T) {
	w := newWorld(t)
	v1 := w.deploy(tenantA, "production")
	tag := w.tag()
	first := w.records(tenantA, "production")[0].Record

	// Production moves on: a config change, committed and deployed.
	cfg := filepath.Join(w.ws.Root, "tenants", tenantA, "wrangler.jsonc")
	b, _ := os.ReadFile(cfg)
	changed := strings.Replace(string(b), `"LOG_LEVEL": "warn"`, `"LOG_LEVEL": "error"`, 1)
	if changed == string(b) {
		t.Fatal("setup: production LOG_LEVEL not found in wrangler.jsonc")
	}
	os.WriteFile(cfg, []byte(changed), 0o644)
	w.commit("louder logs")
	v2 := w.deploy(tenantA, "production")
	second := w.records(tenantA, "production")[0].Record
	if second.ConfigFingerprint == first.ConfigFingerprint {
		t.Fatal("setup: the change did not change the config fingerprint")
	}

	out, err := rollback.Redeploy(context.Background(), w.ws, w.log, tenantA, tag, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := out.Record
	if got.Status != history.StatusSucceeded || got.VersionID == v1 || got.VersionID == v2 || got.PreviousVersionID != v2 ||
		got.ConfigFingerprint != first.ConfigFingerprint || got.Reason != "redeploy of "+tag {
		t.Fatalf("redeploy record = %+v", got)
	}
	if e := w.records(tenantA, "production")[0]; e.Path != out.RecordFile || e.Record.VersionID != got.VersionID {
		t.Fatalf("record not appended to the checkout's deployments/: %s vs %s", e.Path, out.RecordFile)
	}
	if probs, _ := history.Verify(w.ws.DeploymentsDir()); len(probs) != 0 {
		t.Fatalf("chain broken by the copied record: %v", probs)
	}
	// The redeploy target renders the outcome as deploy:promote's: one line, the record
	// relative to the checkout, the time the whole redeploy's.
	var line bytes.Buffer
	if err := deploy.WriteOutcome(&line, w.ws.Root, "redeploy", &out, false); err != nil || out.Took <= 0 ||
		!strings.HasPrefix(line.String(), "redeploy "+tenantA+"/production: succeeded: version "+got.VersionID) ||
		!strings.Contains(line.String(), "; record deployments/") {
		t.Errorf("redeploy line = %q (took %s, %v)", line.String(), out.Took, err)
	}
	if _, err := os.Stat(filepath.Join(w.ws.StateDir(), "redeploy", tenantA+"-"+filepath.Base(tag))); !os.IsNotExist(err) {
		t.Errorf("worktree left behind: %v", err)
	}
	// The working tree of the checkout is untouched by the redeploy.
	if b, _ := os.ReadFile(cfg); string(b) != changed {
		t.Error("the checkout's files were changed")
	}

	if _, err := rollback.Redeploy(context.Background(), w.ws, w.log, tenantB, tag, io.Discard); err == nil {
		t.Error("another tenant's tag was accepted")
	}
}

func TestRollbackAcrossMigrationRefused(t *testing.T) {
	w := newWorld(t)
	v1 := w.deploy(tenantA, "staging")
	// The next deploy adds a Durable Object migration (tag v2) in staging.
	cfg := filepath.Join(w.ws.Root, "tenants", tenantA, "wrangler.jsonc")
	b, _ := os.ReadFile(cfg)
	const one = `"migrations": [{ "tag": "v1", "new_sqlite_classes": ["Counter"] }],`
	i := strings.Index(string(b), `"staging"`)
	j := strings.Index(string(b)[i:], one)
	if i < 0 || j < 0 {
		t.Fatal("setup: staging migrations not found in wrangler.jsonc")
	}
	two := `"migrations": [{ "tag": "v1", "new_sqlite_classes": ["Counter"] }, { "tag": "v2", "new_sqlite_classes": ["Ledger"] }],`
	os.WriteFile(cfg, []byte(string(b)[:i+j]+two+string(b)[i+j+len(one):]), 0o644)
	v2 := w.deploy(tenantA, "staging")

	_, err := w.rollback(tenantA, "staging", rollback.Options{Force: true})
	if !errors.Is(err, rollback.ErrMigration) || !strings.Contains(err.Error(), rollback.Runbook) || !strings.Contains(err.Error(), v1) {
		t.Fatalf("rollback across the v2 migration: %v", err)
	}
	if r := w.records(tenantA, "staging")[0].Record; w.live() != v2 || r.Kind != history.KindRollback || r.Status != history.StatusFailed {
		t.Fatalf("a refused rollback changed something or left no failed record: live %s, newest record %s %s", w.live(), r.Kind, r.Status)
	}
}

// BenchmarkRollback measures one rollback against the in-process sandbox: plan, checks, lock,
// the deployments call, the health check of the target and the record. Each iteration rolls
// between two real wrangler-deployed versions with -to.
func BenchmarkRollback(b *testing.B) {
	w := newWorld(b)
	v := []string{w.deploy(tenantA, "staging"), w.deploy(tenantA, "staging")}
	b.ResetTimer()
	for i := range b.N {
		if _, err := w.rollback(tenantA, "staging", rollback.Options{To: v[i%2]}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRollbackInterruptedMidCall(t *testing.T) {
	w := newWorld(t)
	w.deploy(tenantA, "staging")
	v2 := w.deploy(tenantA, "staging")
	w.sb.Server.AddFault(sandbox.Fault{Path: "POST /accounts/*/workers/scripts/*/deployments", Latency: 6 * time.Second, Count: 1})
	// The operator presses Ctrl-C while the deployments call hangs: mage cancels the context.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	o, err := rollback.Command(ctx, w.ws, w.log, tenantA, "staging", rollback.Options{})
	if err == nil || o.Status != rollback.StatusInterrupted || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("status %q, err %v", o.Status, err)
	}
	r := w.records(tenantA, "staging")[0].Record
	if r.Kind != history.KindRollback || r.Status != history.StatusInterrupted || r.PreviousVersionID != v2 {
		t.Fatalf("record = %+v", r)
	}
	if _, err := os.Stat(lock.Path(filepath.Join(w.ws.StateDir(), "locks"), tenantA, "staging")); !os.IsNotExist(err) {
		t.Fatalf("lock left behind after the interruption: %v", err)
	}
}

// Issue 15: one damaged record (git conflict markers) does not disable rollbacks. -to needs no
// history; without -to the damaged file is skipped with a warning naming it; history:verify
// still fails naming it. An unwritable records folder refuses before the deployment changes.
func TestRollbackAroundADamagedRecord(t *testing.T) {
	w := newWorld(t)
	v1 := w.deploy(tenantA, "staging")
	v2 := w.deploy(tenantA, "staging")
	v3 := w.deploy(tenantA, "staging")
	newest := w.records(tenantA, "staging")[0].Path
	b, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	conflicted := "<<<<<<< HEAD\n" + string(b) + "=======\n{}\n>>>>>>> other-branch\n"
	if err := os.WriteFile(newest, []byte(conflicted), 0o644); err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(newest)

	o, err := w.rollback(tenantA, "staging", rollback.Options{To: v1})
	if err != nil || w.live() != v1 {
		t.Fatalf("rollback -to=v1 with a damaged record: %v (live %s, want %s)", err, w.live(), v1)
	}
	o, err = w.rollback(tenantA, "staging", rollback.Options{})
	if err != nil || w.live() != v2 || o.ToVersionID != v2 {
		t.Fatalf("rollback without -to: %v (live %s, want %s; v3 %s)", err, w.live(), v2, v3)
	}
	var text bytes.Buffer
	o.Text(&text)
	if len(o.Warnings) != 1 || !strings.Contains(o.Warnings[0], name) || !strings.Contains(text.String(), name) {
		t.Errorf("warnings %v do not name %s; printed:\n%s", o.Warnings, name, text.String())
	}
	problems, err := history.Verify(w.ws.DeploymentsDir())
	if err != nil {
		t.Fatal(err)
	}
	var named bool
	for _, p := range problems {
		named = named || p.File == name
	}
	if !named {
		t.Errorf("history:verify does not name %s: %v", name, problems)
	}

	testrepo.Unwritable(t, w.ws.DeploymentsDir())
	_, err = w.rollback(tenantA, "staging", rollback.Options{To: v1})
	if err == nil || !strings.Contains(err.Error(), w.ws.DeploymentsDir()) {
		t.Fatalf("rollback into an unwritable records folder: %v", err)
	}
	if w.live() != v2 {
		t.Fatalf("the deployment changed (%s live) though the record could not be written", w.live())
	}
}
