package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// workerdOptions is a sandbox with the real edge, or a skip (a failure in CI) without node.
func workerdOptions(t *testing.T) Options {
	t.Helper()
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo)
	return Options{Edge: EdgeOptions{Mode: EdgeWorkerd, NodeModules: filepath.Join(repo.Root, "node_modules"), Dir: t.TempDir()}}
}

// probeWorker reports what it sees: its bindings, secrets, version metadata, KV and a
// Durable Object, so one request shows the whole runtime environment.
const probeWorker = `
export class Counter {
  constructor(state) { this.state = state; }
  async fetch() {
    const n = ((await this.state.storage.get("n")) ?? 0) + 1;
    await this.state.storage.put("n", n);
    return new Response(String(n));
  }
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/kv") {
      const before = await env.CACHE.get("k");
      await env.CACHE.put("k", "set");
      return Response.json({ before });
    }
    if (url.pathname === "/count") {
      const stub = env.COUNTER.get(env.COUNTER.idFromName("a"));
      return new Response(await (await stub.fetch("https://do/")).text());
    }
    if (url.pathname === "/ai") {
      try { await env.AI.run("@cf/x", {}); return new Response("ai answered"); }
      catch (err) { return Response.json({ error: String(err) }, { status: 503 }); }
    }
    if (url.pathname === "/cron") return Response.json(await env.CACHE.get("cron"));
    if (url.pathname !== "/env") return Response.json({ error: "not_found" }, { status: 404 });
    return Response.json({
      url: request.url, tenant: env.TENANT_ID, secret: env.API_KEY ?? null, version: env.META,
      marker: MARKER,
    });
  },
  async scheduled(controller, env) { await env.CACHE.put("cron", controller.cron); },
};
`

func probeMeta(marker string) map[string]any {
	return map[string]any{
		"main_module": "index.js",
		"bindings": []any{
			map[string]any{"name": "TENANT_ID", "type": "plain_text", "text": "t1"},
			map[string]any{"name": "ENVIRONMENT", "type": "plain_text", "text": "staging"},
			map[string]any{"name": "CACHE", "type": "kv_namespace", "namespace_id": "22222222222222222222222222222222"},
			map[string]any{"name": "COUNTER", "type": "durable_object_namespace", "class_name": "Counter"},
			map[string]any{"name": "META", "type": "version_metadata"},
			map[string]any{"name": "AI", "type": "ai"},
		},
		"compatibility_date":  "2025-09-01",
		"compatibility_flags": []string{},
		"migrations":          map[string]any{"new_tag": "v1", "new_sqlite_classes": []string{"Counter"}},
		"annotations":         map[string]string{"workers/tag": marker},
	}
}

// uploadModules is upload with a source map beside the code, as wrangler sends it.
func uploadModules(t testing.TB, meta map[string]any, code string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mb, _ := json.Marshal(meta)
	_ = mw.WriteField("metadata", string(mb))
	for _, p := range []struct{ name, ct, body string }{
		{"index.js", "application/javascript+module", code},
		{"index.js.map", "application/source-map", `{"version":3}`},
	} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", multipart.FileContentDisposition(p.name, p.name))
		h.Set("Content-Type", p.ct)
		pw, _ := mw.CreatePart(h)
		_, _ = pw.Write([]byte(p.body))
	}
	_ = mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func putProbe(t *testing.T, c apiClient, acct, name, marker string) string {
	t.Helper()
	ct, body := uploadModules(t, probeMeta(marker), "const MARKER = "+jsString(marker)+";\n"+probeWorker)
	var res struct {
		DeploymentID string `json:"deployment_id"`
	}
	ok(t, c.do("PUT", "/accounts/"+acct+"/workers/scripts/"+name, ct, body)).into(t, &res)
	ok(t, c.json("POST", "/accounts/"+acct+"/workers/scripts/"+name+"/subdomain", map[string]bool{"enabled": true}))
	return res.DeploymentID
}

func postProbe(t *testing.T, c apiClient, name, marker, code string) string {
	t.Helper()
	meta := probeMeta(marker)
	delete(meta, "migrations")
	ct, body := uploadModules(t, meta, code)
	var res struct {
		ID string `json:"id"`
	}
	ok(t, c.do("POST", "/accounts/"+acctA+"/workers/scripts/"+name+"/versions", ct, body)).into(t, &res)
	return res.ID
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

type edgeResp struct {
	status int
	header http.Header
	body   string
}

func edgeGet(t *testing.T, base, host, path string, hdr map[string]string) edgeResp {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Host = host
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return edgeResp{resp.StatusCode, resp.Header, string(b)}
}

func TestWorkerdEdgeRunsTheUploadedCode(t *testing.T) {
	opts := workerdOptions(t)
	s, c := setup(t, opts)
	id := putProbe(t, c, acctA, "probe", "one")
	ok(t, c.json("PUT", "/accounts/"+acctA+"/workers/scripts/probe/secrets", map[string]string{"name": "API_KEY", "text": "rehearsal-secret", "type": "secret_text"}))
	host := "probe." + subA + ".workers.dev"

	r := edgeGet(t, c.base, host, "/env", nil)
	var env struct {
		URL, Tenant, Secret, Marker string
		Version                     struct{ ID, Tag, Timestamp string }
	}
	if err := json.Unmarshal([]byte(r.body), &env); err != nil || r.status != 200 {
		t.Fatalf("/env = %d %s", r.status, r.body)
	}
	// The secret put made a new version: it is the one serving and it sees the secret.
	live := s.liveVersionID(t, acctA, "probe")
	if live == id || env.Version.ID != live || env.Secret != "rehearsal-secret" || env.Tenant != "t1" ||
		env.URL != "https://"+host+"/env" || env.Marker != "one" || env.Version.Timestamp == "" {
		t.Errorf("/env = %+v (live %s, first %s)", env, live, id)
	}
	if r := edgeGet(t, c.base, host, "/nope", nil); r.status != 404 || !strings.Contains(r.body, "not_found") {
		t.Errorf("unknown path = %d %s, want the Worker's own 404", r.status, r.body)
	}
	if r := edgeGet(t, c.base, host, "/kv", nil); r.body != `{"before":null}` {
		t.Errorf("first /kv = %s", r.body)
	}
	if r := edgeGet(t, c.base, host, "/kv", nil); r.body != `{"before":"set"}` {
		t.Errorf("second /kv = %s, KV state lost between requests", r.body)
	}
	for want := range []string{"1", "2"} {
		if r := edgeGet(t, c.base, host, "/count", nil); r.body != []string{"1", "2"}[want] {
			t.Errorf("/count #%d = %d %s", want+1, r.status, r.body)
		}
	}
	if r := edgeGet(t, c.base, host, "/ai", nil); r.status != 503 || !strings.Contains(r.body, "not available in the sandbox") {
		t.Errorf("/ai = %d %s, want the binding's failure", r.status, r.body)
	}
	if r := edgeGet(t, c.base, host, "/cdn-cgi/handler/scheduled", nil); r.status != 404 {
		t.Errorf("/cdn-cgi/ reached the Worker: %d %s", r.status, r.body)
	}
	res, err := s.TriggerScheduled(t.Context(), host, "0 * * * *")
	if err != nil || res.Status != 200 || res.VersionID != live {
		t.Fatalf("scheduled = %+v %v", res, err)
	}
	if r := edgeGet(t, c.base, host, "/cron", nil); r.body != `"0 * * * *"` {
		t.Errorf("/cron after the trigger = %s", r.body)
	}

	// Another tenant with the same KV namespace id and class sees none of it.
	cb := apiClient{t: t, base: c.base, token: s.Token(acctB)}
	putProbe(t, cb, acctB, "probe", "b")
	hostB := "probe." + subB + ".workers.dev"
	if r := edgeGet(t, c.base, hostB, "/kv", nil); r.body != `{"before":null}` {
		t.Errorf("tenant B's KV = %s, want empty", r.body)
	}
	if r := edgeGet(t, c.base, hostB, "/count", nil); r.body != "1" {
		t.Errorf("tenant B's counter = %s, want 1", r.body)
	}
	if got := s.Status().Edge.Running; len(got) != 2 {
		t.Errorf("running = %v, want the two live versions", got)
	}
}

// liveVersionID is the version at the top of the current deployment.
func (s *Server) liveVersionID(t *testing.T, acct, script string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Accounts[acct].Scripts[script].live().Versions[0].VersionID
}

func TestWorkerdEdgeSplitsTrafficAndHonoursOverrides(t *testing.T) {
	opts := workerdOptions(t)
	_, c := setup(t, opts)
	old := putProbe(t, c, acctA, "split", "old")
	code := "const MARKER = \"new\";\n" + probeWorker
	newID := postProbe(t, c, "split", "new", code)
	ok(t, deploy(c, "split", "", DeploymentVersion{VersionID: newID, Percentage: 10}, DeploymentVersion{VersionID: old, Percentage: 90}))
	host := "split." + subA + ".workers.dev"
	seen := map[string]int{}
	for range 200 {
		r := edgeGet(t, c.base, host, "/env", nil)
		var env struct {
			Marker  string
			Version struct{ ID string }
		}
		if err := json.Unmarshal([]byte(r.body), &env); err != nil {
			t.Fatalf("/env = %d %s", r.status, r.body)
		}
		if want := map[string]string{old: "old", newID: "new"}[env.Version.ID]; want != env.Marker {
			t.Fatalf("version %s answered marker %q: not its own code", env.Version.ID, env.Marker)
		}
		seen[env.Marker]++
	}
	// 10% of 200: the chance of falling outside 5..40 is far below one in a million.
	if seen["new"] < 5 || seen["new"] > 40 || seen["new"]+seen["old"] != 200 {
		t.Errorf("split 10/90 over 200 requests answered %v", seen)
	}
	for id, marker := range map[string]string{old: "old", newID: "new"} {
		for range 10 {
			r := edgeGet(t, c.base, host, "/env", map[string]string{overrideHeader: `split="` + id + `"`})
			if !strings.Contains(r.body, `"marker":"`+marker+`"`) {
				t.Fatalf("override to %s answered %s", marker, r.body)
			}
		}
	}
	// 0% is pinnable; a version outside the deployment and a malformed header fall back.
	ok(t, deploy(c, "split", "", DeploymentVersion{VersionID: old, Percentage: 100}, DeploymentVersion{VersionID: newID, Percentage: 0}))
	if r := edgeGet(t, c.base, host, "/env", map[string]string{overrideHeader: `split="` + newID + `"`}); !strings.Contains(r.body, `"marker":"new"`) {
		t.Errorf("override to the 0%% version answered %s", r.body)
	}
	ok(t, deploy(c, "split", "", DeploymentVersion{VersionID: old, Percentage: 100}))
	for _, h := range []string{`split="` + newID + `"`, `split=` + newID, `other="` + newID + `"`} {
		if r := edgeGet(t, c.base, host, "/env", map[string]string{overrideHeader: h}); !strings.Contains(r.body, `"marker":"old"`) {
			t.Errorf("override %s outside the deployment answered %s, want the deployed version", h, r.body)
		}
	}
}

func TestWorkerdEdgeVersionThatThrowsAtStartAnswers500(t *testing.T) {
	opts := workerdOptions(t)
	s, c := setup(t, opts)
	good := putProbe(t, c, acctA, "boom", "good")
	bad := postProbe(t, c, "boom", "bad", "throw new Error('boom at start-up');\n"+probeWorker)
	ok(t, deploy(c, "boom", "", DeploymentVersion{VersionID: bad, Percentage: 100}))
	host := "boom." + subA + ".workers.dev"
	r := edgeGet(t, c.base, host, "/health", nil)
	if r.status != 500 || !strings.Contains(r.body, "Error 1101") || !strings.Contains(r.body, "boom at start-up") {
		t.Fatalf("a version that throws at start answered %d %s", r.status, r.body)
	}
	// It keeps failing fast, and the good version serves again once it is deployed.
	if r := edgeGet(t, c.base, host, "/health", nil); r.status != 500 {
		t.Errorf("second request = %d", r.status)
	}
	ok(t, deploy(c, "boom", "", DeploymentVersion{VersionID: good, Percentage: 100}))
	if r := edgeGet(t, c.base, host, "/env", nil); r.status != 200 || !strings.Contains(r.body, good) {
		t.Errorf("after the rollback = %d %s", r.status, r.body)
	}
	// The "unhealthy version" fault still works on the real edge.
	s.MarkUnhealthy(good)
	if r := edgeGet(t, c.base, host, "/env", nil); r.status != 503 || !strings.Contains(r.body, "unhealthy") {
		t.Errorf("unhealthy = %d %s", r.status, r.body)
	}
}

func TestWorkerdEdgeStopsIdleVersionsAndKeepsUnderTheCap(t *testing.T) {
	opts := workerdOptions(t)
	opts.Edge.MaxRunning = 2
	opts.Edge.IdleTimeout = 400 * time.Millisecond
	s, c := setup(t, opts)
	var hosts []string
	for _, name := range []string{"cap-a", "cap-b", "cap-c"} {
		putProbe(t, c, acctA, name, name)
		hosts = append(hosts, name+"."+subA+".workers.dev")
	}
	for _, h := range hosts {
		if r := edgeGet(t, c.base, h, "/env", nil); r.status != 200 {
			t.Fatalf("%s = %d %s", h, r.status, r.body)
		}
		if n := len(s.Status().Edge.Running); n > 2 {
			t.Fatalf("%d versions running, cap is 2", n)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(s.Status().Edge.Running) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("idle versions still running: %v", s.Status().Edge.Running)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A stopped version starts again on its next request, its KV intact.
	edgeGet(t, c.base, hosts[0], "/kv", nil)
	if r := edgeGet(t, c.base, hosts[0], "/kv", nil); r.body != `{"before":"set"}` {
		t.Errorf("KV after a restart = %s", r.body)
	}
	// A reset stops the runtimes and deletes the Workers' data.
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(opts.Edge.Dir, "persist")); !os.IsNotExist(err) || len(s.Status().Edge.Running) != 0 {
		t.Errorf("after reset: persist %v, running %v", err, s.Status().Edge.Running)
	}
}

// The secret values the sandbox holds for the edge reach the Worker and nothing else: no API
// answer, no control answer, no request log line carries them.
func TestSecretValuesReachOnlyTheWorker(t *testing.T) {
	opts := workerdOptions(t)
	reqlog := &lockedBuffer{b: &bytes.Buffer{}}
	opts.RequestLog = reqlog
	s, c := setup(t, opts)
	putProbe(t, c, acctA, "canary", "c")
	const canary = "CANARY-secret-value-7f3a9c"
	ok(t, c.json("PUT", "/accounts/"+acctA+"/workers/scripts/canary/secrets", map[string]string{"name": "API_KEY", "text": canary, "type": "secret_text"}))
	if r := edgeGet(t, c.base, "canary."+subA+".workers.dev", "/env", nil); !strings.Contains(r.body, canary) {
		t.Fatalf("the Worker does not see its secret: %s", r.body)
	}
	live := s.liveVersionID(t, acctA, "canary")
	var seen []string
	for _, p := range []string{"/secrets", "/secrets/API_KEY", "/settings", "/versions", "/versions/" + live, "/content/v2", "/deployments"} {
		seen = append(seen, string(c.get("/accounts/"+acctA+"/workers/scripts/canary"+p).body))
	}
	st, _ := json.Marshal(s.Status())
	seen = append(seen, string(st), reqlog.String())
	for i, out := range seen {
		if strings.Contains(out, canary) {
			t.Errorf("answer %d carries the secret value: %.300s", i, out)
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
