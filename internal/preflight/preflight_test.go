package preflight_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfcontract"
	"github.com/rainbowsmoke/crispy-enigma/internal/preflight"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxhost"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

const (
	tenantA  = "mrrainbowsmoke"
	accountA = "4f1c2b7e9a0d43c8b6e5f70192a3b4c5"
	tenantB  = "rainbowsmokeofficial"
	workerA  = "mrrainbowsmoke-api-staging"
	kvA      = "8e7fc1defecc23f57579b090676292e4"
)

type world struct {
	ws  workspace.Workspace
	sb  *sandbox.Server
	srv *httptest.Server
	a   preflight.Access
}

// newWorld copies the repository's tenants and starts a sandbox seeded from them, as
// sandbox:start does.
func newWorld(t *testing.T) *world {
	t.Helper()
	ws := testrepo.Copy(t, testrepo.Repo(t), testrepo.Options{})
	accts, err := sandboxhost.Accounts(ws)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.New(sandbox.Options{Accounts: accts, Observe: cfcontract.Observer[sandbox.Exchange](t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	ep := sandboxctl.SandboxEndpoint(srv.URL, "", sb.Tokens())
	// The tenants' real tokens are set too: the canary that must never reach the sandbox.
	lookup := func(k string) (string, bool) {
		return "CANARY-real-" + k, strings.HasPrefix(k, "CLOUDFLARE_API_TOKEN_")
	}
	return &world{ws: ws, sb: sb, srv: srv, a: preflight.Access{
		Workspace: ws, APIBaseURL: ep.APIBaseURL, HTTPClient: ep.HTTPClient, Lookup: lookup, Sandbox: ep.SandboxTokens(),
		Log: slog.New(slog.DiscardHandler),
	}}
}

func (w *world) run(t *testing.T, names ...string) []preflight.Report {
	t.Helper()
	reps, err := preflight.Tenants(context.Background(), w.a, names, tenant.Staging, 4)
	if err != nil {
		t.Fatal(err)
	}
	return reps
}

func check(t *testing.T, r preflight.Report, name string) preflight.Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s/%s has no check %q: %+v", r.Tenant, r.Env, name, r.Checks)
	return preflight.Check{}
}

// upload creates the staging Worker of tenant A as wrangler's first deploy would: the
// Counter class bound and created by migration v1.
func (w *world) upload(t *testing.T) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	meta, _ := json.Marshal(map[string]any{
		"main_module": "index.js",
		"bindings": []any{
			map[string]any{"name": "COUNTER", "type": "durable_object_namespace", "class_name": "Counter"},
			map[string]any{"name": "CACHE", "type": "kv_namespace", "namespace_id": kvA},
		},
		"compatibility_date": "2026-01-20",
		"migrations":         map[string]any{"new_tag": "v1", "steps": []any{map[string]any{"new_sqlite_classes": []string{"Counter"}}}},
	})
	_ = mw.WriteField("metadata", string(meta))
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{`form-data; name="index.js"; filename="index.js"`}
	h["Content-Type"] = []string{"application/javascript+module"}
	pw, _ := mw.CreatePart(h)
	_, _ = pw.Write([]byte("export default { fetch() { return new Response('ok') } };\nexport class Counter {}\n"))
	_ = mw.Close()
	req, _ := http.NewRequest("PUT", w.srv.URL+"/client/v4/accounts/"+accountA+"/workers/scripts/"+workerA, &buf)
	req.Header.Set("Authorization", "Bearer "+w.sb.Token(accountA))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("upload: %d", res.StatusCode)
	}
}

func TestFreshSandboxIsReadyAndWarnsAboutSecrets(t *testing.T) {
	w := newWorld(t)
	before := w.sb.RequestCount(w.sb.Token(accountA))
	reps := w.run(t, tenantA, tenantB)
	if len(reps) != 2 || !preflight.AllReady(reps) {
		t.Fatalf("reports = %+v", reps)
	}
	a := reps[0]
	if !a.FirstDeploy || strings.Join(a.MissingSecrets, ",") != "AI_GATEWAY_TOKEN,WEBHOOK_SIGNING_KEY" {
		t.Fatalf("first deploy / missing secrets = %v %v", a.FirstDeploy, a.MissingSecrets)
	}
	sec := check(t, a, "secrets")
	if sec.Status != preflight.Warn || !strings.Contains(sec.Fix, "go tool mage secrets:put mrrainbowsmoke staging AI_GATEWAY_TOKEN") {
		t.Fatalf("secrets check = %+v", sec)
	}
	for _, name := range []string{"token", "account", "kv.CACHE", "vectorize.VECTORIZE", "durable_object.COUNTER"} {
		if c := check(t, a, name); c.Status != preflight.OK {
			t.Errorf("%s = %+v", name, c)
		}
	}
	n := w.sb.RequestCount(w.sb.Token(accountA)) - before
	t.Logf("API requests for one tenant's preflight (first deploy): %d", n)
	if n > 6 {
		t.Errorf("preflight of one tenant made %d API requests, want a handful (<= 6)", n)
	}
}

func TestUnreadyAccountsNameTheProblemAndTheFix(t *testing.T) {
	w := newWorld(t)
	w.upload(t)

	// An existing Worker without its secrets is not ready; the fix is the command.
	rep := w.run(t, tenantA)[0]
	sec := check(t, rep, "secrets")
	if rep.Ready() || sec.Status != preflight.Problem || !strings.Contains(sec.Detail, "AI_GATEWAY_TOKEN, WEBHOOK_SIGNING_KEY") ||
		!strings.Contains(sec.Fix, "secrets:put mrrainbowsmoke staging WEBHOOK_SIGNING_KEY") {
		t.Fatalf("secrets = %+v", sec)
	}
	for _, n := range []string{"AI_GATEWAY_TOKEN", "WEBHOOK_SIGNING_KEY"} {
		if err := w.sb.Mutate(sandbox.Mutation{AccountID: accountA, Script: workerA, Op: "set_secret", Name: n, Value: "v"}); err != nil {
			t.Fatal(err)
		}
	}
	rep = w.run(t, tenantA)[0]
	if !rep.Ready() || rep.FirstDeploy {
		t.Fatalf("with secrets set: %+v", rep)
	}
	// The live Worker is at migration v1, so Counter must exist now.
	if c := check(t, rep, "durable_object.COUNTER"); c.Status != preflight.OK || !strings.Contains(c.Detail, "exists") {
		t.Fatalf("DO = %+v", c)
	}

	mutate := func(m sandbox.ResourceMutation) {
		t.Helper()
		m.AccountID = accountA
		if err := w.sb.MutateResources(m); err != nil {
			t.Fatal(err)
		}
	}
	mutate(sandbox.ResourceMutation{Op: "delete_kv_namespace", ID: kvA})
	mutate(sandbox.ResourceMutation{Op: "delete_vectorize_index", Name: "mrrainbowsmoke-docs-staging"})
	mutate(sandbox.ResourceMutation{Op: "delete_do_namespace", Script: workerA, Class: "Counter"})
	rep = w.run(t, tenantA)[0]
	if rep.Ready() {
		t.Fatal("ready without KV, Vectorize and DO")
	}
	kv := check(t, rep, "kv.CACHE")
	if kv.Status != preflight.Problem || !strings.Contains(kv.Detail, kvA) || !strings.Contains(kv.Detail, accountA) || !strings.Contains(kv.Detail, "CACHE") {
		t.Errorf("kv = %+v", kv)
	}
	if c := check(t, rep, "vectorize.VECTORIZE"); c.Status != preflight.Problem || !strings.Contains(c.Detail, "mrrainbowsmoke-docs-staging") {
		t.Errorf("vectorize = %+v", c)
	}
	if c := check(t, rep, "durable_object.COUNTER"); c.Status != preflight.Problem || !strings.Contains(c.Detail, "Counter") {
		t.Errorf("DO = %+v", c)
	}
	err := rep.Err()
	if err == nil || !strings.Contains(err.Error(), "kv.CACHE") || !strings.Contains(err.Error(), kvA) {
		t.Errorf("Err = %v", err)
	}
}

func TestKVIdChangedInConfig(t *testing.T) {
	w := newWorld(t)
	const other = "0123456789abcdef0123456789abcdef"
	path := filepath.Join(w.ws.TenantsDir(), tenantA, "wrangler.jsonc")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(kvA), []byte(other), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	reps := w.run(t, tenantA, tenantB)
	if err := preflight.WriteText(&out, reps, false); err != nil {
		t.Fatal(err)
	}
	if reps[0].Ready() || !reps[1].Ready() {
		t.Fatalf("ready = %v %v", reps[0].Ready(), reps[1].Ready())
	}
	text := out.String()
	for _, want := range []string{"kv.CACHE", other, accountA, "problem", "1 of 2 tenant(s) ready"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

func TestPermissionsAndTokens(t *testing.T) {
	w := newWorld(t)
	w.sb.AddFault(sandbox.Fault{Method: "GET", Path: "/accounts/*/storage/kv/namespaces", Status: 403, Code: 10000})
	rep := w.run(t, tenantA)[0]
	if c := check(t, rep, "kv.CACHE"); c.Status != preflight.Problem || !strings.Contains(c.Detail, "Workers KV Storage") || !strings.Contains(c.Detail, "403") {
		t.Fatalf("kv with 403 = %+v", c)
	}
	w.sb.ClearFaults()

	if err := w.sb.MutateResources(sandbox.ResourceMutation{AccountID: accountA, Op: "set_token", Status: "expired"}); err != nil {
		t.Fatal(err)
	}
	rep = w.run(t, tenantA)[0]
	if c := check(t, rep, "token"); rep.Ready() || c.Status != preflight.Problem || !strings.Contains(c.Detail, "expired") || len(rep.Checks) != 1 {
		t.Fatalf("expired token = %+v", rep.Checks)
	}

	if err := w.sb.MutateResources(sandbox.ResourceMutation{AccountID: accountA, Op: "set_token", Status: "active"}); err != nil {
		t.Fatal(err)
	}
	// Another account's token: named as such, not as an invalid token.
	w.a.Sandbox = func(string) (string, bool) { return w.sb.Token("9e8d7c6b5a4f43e2a1b0c9d8e7f6a5b4"), true }
	rep = w.run(t, tenantA)[0]
	if c := check(t, rep, "token"); c.Status != preflight.Problem || !strings.Contains(c.Detail, "belongs to another account") {
		t.Fatalf("foreign token = %+v", c)
	}

	// A tenant whose account the sandbox does not know is refused without its real token.
	w.a.Sandbox = func(string) (string, bool) { return "", false }
	rep = w.run(t, tenantA)[0]
	if rep.Ready() || !strings.Contains(rep.Error, "never sent to the sandbox") || strings.Contains(rep.Error, "CANARY") {
		t.Fatalf("unknown account = %+v", rep)
	}
}

func newServer(t *testing.T, sb *sandbox.Server) string {
	t.Helper()
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}
