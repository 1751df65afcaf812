package sandbox

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

const stagingName = "fixture-api-staging"

// deployStaging runs `wrangler deploy --env staging` and checks the deploy entry.
func deployStaging(t *testing.T, base, token string, p project) (versionID string, res wranglerResult) {
	t.Helper()
	res = mustWrangler(t, base, token, p, "", "deploy", "--env", "staging")
	e := res.entry("deploy")
	if e == nil {
		t.Fatalf("no deploy entry in ND-JSON: %v", res.entries)
	}
	id, _ := e["version_id"].(string)
	if id == "" {
		t.Fatalf("deploy entry without version_id: %v", e)
	}
	return id, res
}

func TestWranglerFirstDeploy(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Options{})
	p := newProject(t, acctA, "")
	id, res := deployStaging(t, ts.URL, s.Token(acctA), p)

	e := res.entry("deploy")
	if e["worker_name"] != stagingName || e["worker_tag"] != nil || e["wrangler_environment"] != "staging" {
		t.Errorf("deploy entry = %v, want worker %s, null tag, env staging", e, stagingName)
	}
	targets, _ := e["targets"].([]any)
	want := []any{"https://" + stagingName + "." + subA + ".workers.dev", "schedule: 0 * * * *", "schedule: 30 2 * * *"}
	for _, w := range want {
		if !slices.Contains(targets, w) {
			t.Errorf("targets %v lack %v", targets, w)
		}
	}
	if !strings.Contains(res.stdout, "Current Version ID: "+id) {
		t.Errorf("stdout lacks the version id %s:\n%s", id, res.stdout)
	}

	live, ok := s.Live(acctA, stagingName)
	if !ok || len(live.Versions) != 1 || live.Versions[0].VersionID != id || live.Versions[0].Percentage != 100 {
		t.Fatalf("live deployment = %+v, want %s at 100%%", live, id)
	}
	v, _ := s.Version(acctA, stagingName, id)
	if v.CompatibilityDate != "2025-09-01" || v.MainModule == "" || len(v.Modules) == 0 {
		t.Errorf("version = %+v", v)
	}
	if got := bindingText(v, "ENVIRONMENT"); got != "staging" {
		t.Errorf("ENVIRONMENT binding = %q, want staging", got)
	}
	info, _ := s.Script(acctA, stagingName)
	if info.MigrationTag != "v1" || !info.Subdomain.Enabled {
		t.Errorf("script = %+v, want migration_tag v1 and workers.dev enabled", info)
	}
	if got := s.Schedules(acctA, stagingName); !slices.Equal(got, []string{"0 * * * *", "30 2 * * *"}) {
		t.Errorf("schedules = %v", got)
	}
	if !slices.Equal(info.Tags, []string{"cf:service=fixture-api-dev", "cf:environment=staging"}) {
		t.Errorf("tags = %v", info.Tags)
	}

	// The edge now answers as the Worker's /health would.
	req, _ := http.NewRequest("GET", ts.URL+"/health", nil)
	req.Host = stagingName + "." + subA + ".workers.dev"
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h healthJSON
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || resp.StatusCode != 200 {
		t.Fatalf("edge: %d %v", resp.StatusCode, err)
	}
	if h.Status != "ok" || h.Tenant != "fixture" || h.Env != "staging" || h.VersionID != id {
		t.Errorf("edge answered %+v, want ok/fixture/staging/%s", h, id)
	}
}

func bindingText(v Version, name string) string {
	for _, b := range v.Bindings {
		if b.Name() == name {
			s, _ := b["text"].(string)
			return s
		}
	}
	return ""
}

func TestWranglerRedeployUsesVersionsPath(t *testing.T) {
	t.Parallel()
	log := &requestLog{}
	s, ts := newTestServer(t, Options{RequestLog: log})
	p := newProject(t, acctA, "")
	tok := s.Token(acctA)
	first, _ := deployStaging(t, ts.URL, tok, p)
	log.reset()
	second, res := deployStaging(t, ts.URL, tok, p)

	if second == first {
		t.Fatalf("redeploy reused version %s", first)
	}
	info, _ := s.Script(acctA, stagingName)
	if got := res.entry("deploy")["worker_tag"]; got != info.Tag {
		t.Errorf("worker_tag = %v, want the script's tag %s", got, info.Tag)
	}
	if n := log.count("POST", "/workers/scripts/"+stagingName+"/versions", ""); n != 1 {
		t.Errorf("POST versions = %d, want 1", n)
	}
	if n := log.count("POST", "/workers/scripts/"+stagingName+"/deployments", ""); n != 1 {
		t.Errorf("POST deployments = %d, want 1", n)
	}
	if n := log.count("PUT", "/workers/scripts/"+stagingName, ""); n != 0 {
		t.Errorf("redeploy used the legacy PUT %d times", n)
	}
	live, _ := s.Live(acctA, stagingName)
	if len(live.Versions) != 1 || live.Versions[0].VersionID != second {
		t.Errorf("live = %+v, want %s at 100%%", live, second)
	}
	if vs := s.Versions(acctA, stagingName); len(vs) != 2 || vs[0].ID != second || vs[1].ID != first {
		t.Errorf("versions (newest first) = %v", versionIDs(vs))
	}
	for _, l := range log.all() {
		if l.Status >= 400 && !strings.HasSuffix(l.Path, "/settings") {
			t.Errorf("unexpected failure during redeploy: %+v", l)
		}
	}
}

func versionIDs(vs []Version) []string {
	var ids []string
	for _, v := range vs {
		ids = append(ids, v.ID)
	}
	return ids
}

func TestWranglerDeployNewMigration(t *testing.T) {
	t.Parallel()
	log := &requestLog{}
	s, ts := newTestServer(t, Options{RequestLog: log})
	p := newProject(t, acctA, "")
	tok := s.Token(acctA)
	deployStaging(t, ts.URL, tok, p)
	p.rewrite(t, acctA, `[{ "tag": "v1", "new_sqlite_classes": ["Counter"] }, { "tag": "v2", "new_sqlite_classes": ["Gauge"] }]`)
	log.reset()
	id, _ := deployStaging(t, ts.URL, tok, p)

	if n := log.count("PUT", "/workers/scripts/"+stagingName, "excludeScript=true"); n != 1 {
		t.Errorf("a new migration must use the legacy PUT; saw %d", n)
	}
	info, _ := s.Script(acctA, stagingName)
	if info.MigrationTag != "v2" {
		t.Errorf("migration_tag = %q, want v2", info.MigrationTag)
	}
	if live, _ := s.Live(acctA, stagingName); live.Versions[0].VersionID != id {
		t.Errorf("live = %+v, want %s", live, id)
	}
	// A third deploy has nothing to migrate and goes back to the versions path.
	log.reset()
	deployStaging(t, ts.URL, tok, p)
	if n := log.count("PUT", "/workers/scripts/"+stagingName, ""); n != 0 {
		t.Errorf("deploy after the migration still used PUT")
	}
}

func TestWranglerVersionsUploadThenSplitDeploy(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Options{})
	p := newProject(t, acctA, "")
	tok := s.Token(acctA)
	old, _ := deployStaging(t, ts.URL, tok, p)

	up := mustWrangler(t, ts.URL, tok, p, "", "versions", "upload", "--env", "staging", "--tag", "T1", "--message", "canary build")
	e := up.entry("version-upload")
	newID, _ := e["version_id"].(string)
	if newID == "" || e["worker_name"] != stagingName {
		t.Fatalf("version-upload entry = %v", e)
	}
	v, ok := s.Version(acctA, stagingName, newID)
	if !ok {
		t.Fatalf("uploaded version %s not stored", newID)
	}
	wantAnn := map[string]string{"workers/message": "canary build", "workers/tag": "T1", "workers/triggered_by": "upload"}
	for k, want := range wantAnn {
		if v.Annotations[k] != want {
			t.Errorf("annotation %s = %q, want %q", k, v.Annotations[k], want)
		}
	}
	if live, _ := s.Live(acctA, stagingName); live.Versions[0].VersionID != old {
		t.Fatalf("versions upload changed the live deployment: %+v", live)
	}

	dep := mustWrangler(t, ts.URL, tok, p, "", "versions", "deploy", newID+"@10%", old+"@90%", "--yes", "--env", "staging", "--message", "canary 10")
	de := dep.entry("version-deploy")
	live, _ := s.Live(acctA, stagingName)
	if de == nil || de["deployment_id"] != live.ID {
		t.Fatalf("version-deploy entry %v, live deployment %s", de, live.ID)
	}
	want := []DeploymentVersion{{newID, 10}, {old, 90}}
	if !slices.Equal(live.Versions, want) || live.Annotations["workers/message"] != "canary 10" {
		t.Errorf("live = %+v, want %v with message", live, want)
	}

	// The edge follows the split: over many requests both versions answer.
	seen := map[string]int{}
	for range 200 {
		st, h := s.edgeAnswer(stagingName + "." + subA + ".workers.dev")
		if st != 200 {
			t.Fatalf("edge status %d", st)
		}
		seen[h.VersionID]++
	}
	if seen[newID] == 0 || seen[old] == 0 || seen[newID] > seen[old] {
		t.Errorf("edge split = %v, want both versions, the new one less often", seen)
	}

	// A redeploy over a split goes through the split-traffic guard (GET each version).
	deployStaging(t, ts.URL, tok, p)
}

func TestWranglerListsAsJSON(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Options{})
	p := newProject(t, acctA, "")
	tok := s.Token(acctA)
	first, _ := deployStaging(t, ts.URL, tok, p)
	second := redeployViaAPI(t, s, ts.URL, acctA, stagingName)

	var deps []Deployment
	res := mustWrangler(t, ts.URL, tok, p, "", "deployments", "list", "--json", "--env", "staging")
	if err := json.Unmarshal([]byte(res.stdout), &deps); err != nil {
		t.Fatalf("deployments list --json: %v\n%s", err, res.stdout)
	}
	if len(deps) != 2 || deps[0].Versions[0].VersionID != first || deps[1].Versions[0].VersionID != second {
		t.Errorf("deployments list (wrangler sorts oldest first) = %+v", deps)
	}
	if len(res.entries) != 1 || res.entries[0]["type"] != "wrangler-session" {
		t.Errorf("ND-JSON of a list = %v, want only wrangler-session", res.entries)
	}

	var cur Deployment
	res = mustWrangler(t, ts.URL, tok, p, "", "deployments", "status", "--json", "--env", "staging")
	if err := json.Unmarshal([]byte(res.stdout), &cur); err != nil {
		t.Fatalf("deployments status --json: %v\n%s", err, res.stdout)
	}
	if live, _ := s.Live(acctA, stagingName); cur.ID != live.ID || cur.Versions[0].VersionID != second {
		t.Errorf("deployments status = %+v, want the live deployment %s", cur, live.ID)
	}

	// versions list prints the deployable list's items, which carry no resources on Cloudflare.
	var items []struct {
		ID       string `json:"id"`
		Metadata struct {
			CreatedOn string `json:"created_on"`
		} `json:"metadata"`
		Resources struct {
			Script struct {
				Etag string `json:"etag"`
			} `json:"script"`
		} `json:"resources"`
	}
	res = mustWrangler(t, ts.URL, tok, p, "", "versions", "list", "--json", "--env", "staging")
	if err := json.Unmarshal([]byte(res.stdout), &items); err != nil {
		t.Fatalf("versions list --json: %v\n%s", err, res.stdout)
	}
	if len(items) != 2 || items[0].ID != first || items[1].ID != second || items[0].Metadata.CreatedOn >= items[1].Metadata.CreatedOn || items[1].Resources.Script.Etag != "" {
		t.Errorf("versions list = %+v", items)
	}
}

func TestWranglerRollback(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Options{})
	p := newProject(t, acctA, "")
	tok := s.Token(acctA)
	first, _ := deployStaging(t, ts.URL, tok, p)
	second := redeployViaAPI(t, s, ts.URL, acctA, stagingName)
	redeployViaAPI(t, s, ts.URL, acctA, stagingName)

	// Without an id: the deployment before the current one.
	res := mustWrangler(t, ts.URL, tok, p, "", "rollback", "--env", "staging")
	if !strings.Contains(res.stdout, "Current Version ID: "+second) {
		t.Errorf("rollback without id: stdout lacks %s:\n%s", second, res.stdout)
	}
	live, _ := s.Live(acctA, stagingName)
	if live.Versions[0].VersionID != second || live.Annotations["workers/message"] != "Rollback" || live.Annotations["workers/triggered_by"] != "rollback" {
		t.Errorf("after rollback: live = %+v, want %s, message Rollback, triggered_by rollback", live, second)
	}

	// With an id and a message.
	res = mustWrangler(t, ts.URL, tok, p, "", "rollback", first, "--message", "back to the first", "-y", "--env", "staging")
	if !strings.Contains(res.stdout, "Current Version ID: "+first) {
		t.Errorf("rollback %s: stdout:\n%s", first, res.stdout)
	}
	live, _ = s.Live(acctA, stagingName)
	if live.Versions[0].VersionID != first || live.Annotations["workers/message"] != "back to the first" {
		t.Errorf("after rollback to %s: live = %+v", first, live)
	}
	if n := len(s.Deployments(acctA, stagingName)); n != 5 {
		t.Errorf("deployments = %d, want 5 (3 deploys, 2 rollbacks)", n)
	}
}

func TestWranglerSecretPutListAndRollbackAcrossIt(t *testing.T) {
	t.Parallel()
	log := &requestLog{}
	s, ts := newTestServer(t, Options{RequestLog: log})
	p := newProject(t, acctA, "")
	tok := s.Token(acctA)
	first, _ := deployStaging(t, ts.URL, tok, p)

	mustWrangler(t, ts.URL, tok, p, "s3cr3t-value\n", "secret", "put", "AI_GATEWAY_TOKEN", "--env", "staging")
	mustWrangler(t, ts.URL, tok, p, "another", "secret", "put", "WEBHOOK_SIGNING_KEY", "--env", "staging")
	if got := s.Secrets(acctA, stagingName); !slices.Equal(got, []string{"AI_GATEWAY_TOKEN", "WEBHOOK_SIGNING_KEY"}) {
		t.Fatalf("secrets = %v", got)
	}
	vs := s.Versions(acctA, stagingName)
	live, _ := s.Live(acctA, stagingName)
	if len(vs) != 3 || vs[0].Annotations["workers/triggered_by"] != "secret" || live.Versions[0].VersionID != vs[0].ID || live.Versions[0].Percentage != 100 {
		t.Fatalf("a secret put must create a version deployed at 100%%: versions %v, live %+v", versionIDs(vs), live)
	}
	if bindingText(vs[0], "ENVIRONMENT") != "staging" || vs[0].Etag != vs[2].Etag {
		t.Errorf("the secret version must keep the code and bindings of the one before")
	}

	res := mustWrangler(t, ts.URL, tok, p, "", "secret", "list", "--format", "json", "--env", "staging")
	var list []secretJSON
	if err := json.Unmarshal([]byte(res.stdout), &list); err != nil {
		t.Fatalf("secret list: %v\n%s", err, res.stdout)
	}
	if len(list) != 2 || list[0] != (secretJSON{"AI_GATEWAY_TOKEN", "secret_text"}) {
		t.Errorf("secret list = %+v", list)
	}
	if strings.Contains(res.stdout, "s3cr3t") {
		t.Error("secret list shows a secret value")
	}

	// Secrets survive a redeploy.
	deployStaging(t, ts.URL, tok, p)
	if got := s.Secrets(acctA, stagingName); len(got) != 2 {
		t.Errorf("secrets after redeploy = %v", got)
	}

	// Rolling back to the first version crosses both secret changes: 10220, then force.
	log.reset()
	res = mustWrangler(t, ts.URL, tok, p, "", "rollback", first, "--env", "staging")
	if n := log.count("POST", "/deployments", ""); n != 2 {
		t.Errorf("POST deployments = %d, want 2 (refused, then forced)", n)
	}
	if n := log.count("POST", "/deployments", "force=true"); n != 1 {
		t.Errorf("forced POST deployments = %d, want 1", n)
	}
	if !strings.Contains(res.stdout, "* AI_GATEWAY_TOKEN") || !strings.Contains(res.stdout, "* WEBHOOK_SIGNING_KEY") {
		t.Errorf("wrangler did not show the changed secrets:\n%s\n%s", res.stdout, res.stderr)
	}
	if live, _ := s.Live(acctA, stagingName); live.Versions[0].VersionID != first {
		t.Errorf("live after forced rollback = %+v, want %s", live, first)
	}
}

func TestWranglerRetriesServerErrorsThreeTimes(t *testing.T) {
	t.Parallel()
	log := &requestLog{}
	s, ts := newTestServer(t, Options{RequestLog: log})
	p := newProject(t, acctA, "")
	tok := s.Token(acctA)
	first := putScript(t, apiClient{t: t, base: ts.URL, token: tok}, stagingName, map[string]any{"migrations": map[string]any{"new_tag": "v1", "steps": []any{}}})
	s.AddFault(Fault{Path: "POST /accounts/*/workers/scripts/*/versions", Status: 500, Code: 10013, Count: 5})
	log.reset()

	res := runWrangler(t, ts.URL, tok, p, "", "deploy", "--env", "staging")
	if res.exit != 1 {
		t.Fatalf("exit = %d, want 1\n%s", res.exit, res.stderr)
	}
	if n := log.count("POST", "/versions", ""); n != 3 {
		t.Errorf("POST versions attempts = %d, want 3", n)
	}
	if f := res.entry("command-failed"); f == nil || f["code"] != float64(10013) {
		t.Errorf("command-failed entry = %v, want code 10013", f)
	}
	if !strings.Contains(res.stderr, "[code: 10013]") {
		t.Errorf("stderr lacks the error code:\n%s", res.stderr)
	}
	if faults := s.Faults(); len(faults) != 1 || faults[0].Count != 2 {
		t.Errorf("remaining faults = %+v, want one with 2 uses left", faults)
	}
	if live, _ := s.Live(acctA, stagingName); live.Versions[0].VersionID != first || len(s.Versions(acctA, stagingName)) != 1 {
		t.Errorf("a failed upload changed the state")
	}
}

func TestWranglerLatencyInjection(t *testing.T) {
	t.Parallel()
	log := &requestLog{}
	s, ts := newTestServer(t, Options{RequestLog: log})
	p := newProject(t, acctA, "")
	tok := s.Token(acctA)
	putScript(t, apiClient{t: t, base: ts.URL, token: tok}, stagingName, nil)
	const delay = 250 * time.Millisecond
	s.SetLatency(delay)
	log.reset()
	start := time.Now()
	mustWrangler(t, ts.URL, tok, p, "", "deployments", "status", "--json", "--env", "staging")
	took := time.Since(start)
	lines := log.all()
	if len(lines) == 0 {
		t.Fatal("no requests logged")
	}
	for _, l := range lines {
		if l.DurationMs < float64(delay.Milliseconds()) {
			t.Errorf("%s %s took %.1f ms, want at least %v", l.Method, l.Path, l.DurationMs, delay)
		}
	}
	if took < time.Duration(len(lines))*delay {
		t.Errorf("wrangler took %v for %d delayed calls", took, len(lines))
	}
}

func TestWranglerWrongAccountTokenRefused(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Options{})
	p := newProject(t, acctA, "")
	res := runWrangler(t, ts.URL, s.Token(acctB), p, "", "deploy", "--env", "staging")
	if res.exit != 1 {
		t.Fatalf("exit = %d, want 1", res.exit)
	}
	t.Logf("wrangler stderr:\n%s\nND-JSON: %v", res.stderr, res.entries)
	if !strings.Contains(res.stderr, "Authentication error") {
		t.Errorf("stderr lacks the auth error:\n%s", res.stderr)
	}
	if f := res.entry("command-failed"); f == nil || f["code"] != float64(codeAuth) {
		t.Errorf("command-failed = %v, want code %d", f, codeAuth)
	}
	if names := s.ScriptNames(acctA); len(names) != 0 {
		t.Errorf("scripts created with a foreign token: %v", names)
	}
	if strings.Contains(res.stdout+res.stderr, s.Token(acctB)) {
		t.Error("wrangler output shows the token")
	}
}

func TestWranglerDeployRoutesAndCustomDomain(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Options{})
	p := newProject(t, acctA, "")
	zid, err := s.AddZone("fixture.example")
	if err != nil {
		t.Fatal(err)
	}
	res := mustWrangler(t, ts.URL, s.Token(acctA), p, "", "deploy", "--env", "routed")
	targets, _ := res.entry("deploy")["targets"].([]any)
	for _, want := range []string{"api.fixture.example/* (zone name: fixture.example)", "hooks.fixture.example (custom domain)"} {
		if !slices.Contains(targets, any(want)) {
			t.Errorf("targets %v lack %q", targets, want)
		}
	}
	info, _ := s.Script(acctA, "fixture-api-routed")
	if len(info.Routes) != 1 || info.Routes[0].Pattern != "api.fixture.example/*" || info.Routes[0].ZoneID != zid {
		t.Errorf("routes = %+v", info.Routes)
	}
	if len(info.Domains) != 1 || info.Domains[0].Hostname != "hooks.fixture.example" || info.Domains[0].ZoneID != zid {
		t.Errorf("domains = %+v", info.Domains)
	}
	if info.Subdomain.Enabled {
		t.Error("workers_dev false must leave workers.dev off")
	}
	if st, _ := s.edgeAnswer("fixture-api-routed." + subA + ".workers.dev"); st != http.StatusNotFound {
		t.Errorf("edge for a Worker without workers.dev: %d, want 404", st)
	}
}

// Without the zone, wrangler fails after the upload: the new version is live although the
// command exits 1. The sandbox reproduces this hazard so the tool's recovery can be tested.
func TestWranglerUnknownZoneFailsAfterUpload(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Options{})
	p := newProject(t, acctA, "")
	res := runWrangler(t, ts.URL, s.Token(acctA), p, "", "deploy", "--env", "routed")
	if res.exit != 1 || !strings.Contains(res.stderr, "Could not find zone") {
		t.Fatalf("exit %d, stderr:\n%s", res.exit, res.stderr)
	}
	if _, ok := s.Live(acctA, "fixture-api-routed"); !ok {
		t.Error("the version uploaded before the zone look-up should be live")
	}
}

// `secret put` on a Worker that does not exist yet makes wrangler create a draft Worker
// (a legacy PUT without excludeScript) and then set the secret.
func TestWranglerSecretPutCreatesDraftWorker(t *testing.T) {
	t.Parallel()
	s, ts := newTestServer(t, Options{})
	p := newProject(t, acctA, "")
	mustWrangler(t, ts.URL, s.Token(acctA), p, "value", "secret", "put", "FIRST_SECRET", "--env", "staging")
	if got := s.Secrets(acctA, stagingName); !slices.Equal(got, []string{"FIRST_SECRET"}) {
		t.Errorf("secrets = %v", got)
	}
	vs := s.Versions(acctA, stagingName)
	if len(vs) != 2 || vs[1].MainModule != stagingName || vs[0].Annotations["workers/triggered_by"] != "secret" {
		t.Errorf("versions = %+v, want the draft then the secret version", vs)
	}
	// The first real deploy (a PUT, as the draft has no migration tag yet) keeps the secret.
	deployStaging(t, ts.URL, s.Token(acctA), p)
	if got := s.Secrets(acctA, stagingName); len(got) != 1 {
		t.Errorf("secret lost by the first deploy: %v", got)
	}
}
