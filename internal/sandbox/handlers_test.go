package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// apiClient talks to a test sandbox the way a Cloudflare client would.
type apiClient struct {
	t     *testing.T
	base  string
	token string
}

type apiResp struct {
	status int
	header http.Header
	env    struct {
		Success    bool            `json:"success"`
		Errors     []errorItem     `json:"errors"`
		Messages   []any           `json:"messages"`
		Result     json.RawMessage `json:"result"`
		ResultInfo *resultInfo     `json:"result_info"`
	}
	body []byte
}

func (r apiResp) code() int {
	if len(r.env.Errors) == 0 {
		return 0
	}
	return r.env.Errors[0].Code
}

func (r apiResp) into(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.env.Result, v); err != nil {
		t.Fatalf("result %s: %v", r.env.Result, err)
	}
}

func (c apiClient) do(method, path, contentType string, body []byte) apiResp {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+"/client/v4"+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := apiResp{status: resp.StatusCode, header: resp.Header}
	out.body, _ = io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(out.body, &out.env); err != nil {
			c.t.Fatalf("%s %s: body is not JSON: %s", method, path, out.body)
		}
	}
	return out
}

func (c apiClient) get(path string) apiResp { return c.do("GET", path, "", nil) }

func (c apiClient) json(method, path string, v any) apiResp {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(method, path, "application/json", b)
}

// ok fails the test unless r is a success envelope with HTTP 200.
func ok(t *testing.T, r apiResp) apiResp {
	t.Helper()
	if r.status != 200 || !r.env.Success {
		t.Fatalf("want success, got %d %s", r.status, r.body)
	}
	return r
}

// wantErr fails the test unless r is an error envelope with status and code.
func wantErr(t *testing.T, r apiResp, status, code int) {
	t.Helper()
	if r.status != status || r.env.Success || r.code() != code || r.env.Result != nil && string(r.env.Result) != "null" {
		t.Fatalf("want %d code %d, got %d %s", status, code, r.status, r.body)
	}
	if r.env.Errors[0].Message == "" {
		t.Fatalf("error without a message: %s", r.body)
	}
}

// upload builds a module-Worker upload like wrangler's.
func upload(t testing.TB, meta map[string]any, modules map[string]string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mb, _ := json.Marshal(meta)
	if err := mw.WriteField("metadata", string(mb)); err != nil {
		t.Fatal(err)
	}
	for _, name := range sortedKeys(modules) {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", multipart.FileContentDisposition(name, name))
		h.Set("Content-Type", "application/javascript+module")
		pw, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write([]byte(modules[name]))
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

func workerMeta(env string, extra map[string]any) map[string]any {
	m := map[string]any{
		"main_module": "index.js",
		"bindings": []any{
			map[string]any{"name": "TENANT_ID", "type": "plain_text", "text": "t1"},
			map[string]any{"name": "ENVIRONMENT", "type": "plain_text", "text": env},
			map[string]any{"name": "CACHE", "type": "kv_namespace", "namespace_id": "22222222222222222222222222222222"},
		},
		"compatibility_date":  "2025-09-01",
		"compatibility_flags": []string{},
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

const workerSrc = "export default { fetch() { return new Response('hi') } };\n// \x00 binary-ish \xff bytes stay as they are\n"

func putScript(t *testing.T, c apiClient, name string, extra map[string]any) string {
	t.Helper()
	ct, body := upload(t, workerMeta("staging", extra), map[string]string{"index.js": workerSrc, "lib/util.js": "export const x = 1;\n"})
	var res struct {
		DeploymentID string `json:"deployment_id"`
		Etag         string `json:"etag"`
		Tag          string `json:"tag"`
	}
	ok(t, c.do("PUT", "/accounts/"+acctA+"/workers/scripts/"+name+"?excludeScript=true", ct, body)).into(t, &res)
	if res.DeploymentID == "" || res.Etag == "" || !isHex32(res.Tag) {
		t.Fatalf("PUT result lacks deployment_id/etag/tag: %+v", res)
	}
	return res.DeploymentID
}

func postVersion(t *testing.T, c apiClient, name string, extra map[string]any) string {
	t.Helper()
	ct, body := upload(t, workerMeta("staging", extra), map[string]string{"index.js": workerSrc})
	var res struct {
		ID        string `json:"id"`
		Resources struct {
			Script struct {
				Etag string `json:"etag"`
			} `json:"script"`
		} `json:"resources"`
		Metadata map[string]any `json:"metadata"`
	}
	ok(t, c.do("POST", "/accounts/"+acctA+"/workers/scripts/"+name+"/versions", ct, body)).into(t, &res)
	if hp, ok := res.Metadata["has_preview"].(bool); res.ID == "" || res.Resources.Script.Etag == "" || !ok || res.Metadata["hasPreview"] != hp {
		t.Fatalf("POST versions result lacks id/etag/has_preview: %+v", res)
	}
	return res.ID
}

func deploy(c apiClient, name, query string, versions ...DeploymentVersion) apiResp {
	return c.json("POST", "/accounts/"+acctA+"/workers/scripts/"+name+"/deployments"+query,
		map[string]any{"strategy": "percentage", "versions": versions, "annotations": map[string]string{"workers/message": "m"}})
}

func setup(t *testing.T, opts Options) (*Server, apiClient) {
	s, ts := newTestServer(t, opts)
	return s, apiClient{t: t, base: ts.URL, token: s.Token(acctA)}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s, c := setup(t, Options{})
	path := "/accounts/" + acctA + "/workers/scripts"
	ok(t, c.get(path))

	none := c
	none.token = ""
	wantErr(t, none.get(path), 401, codeAuth)
	bogus := c
	bogus.token = "not-a-token"
	wantErr(t, bogus.get(path), 401, codeAuth)
	foreign := c
	foreign.token = s.Token(acctB)
	r := foreign.get(path)
	wantErr(t, r, 403, codeAuth)
	if bytes.Contains(r.body, []byte(foreign.token)) {
		t.Error("the error body shows the token")
	}
	// The same foreign token works on its own account and verifies as an active account
	// token: at the account endpoint, not the user one (code 1000, as Cloudflare answers).
	ok(t, foreign.get("/accounts/"+acctB+"/workers/scripts"))
	var v struct{ Status string }
	ok(t, foreign.get("/accounts/"+acctB+"/tokens/verify")).into(t, &v)
	if v.Status != "active" {
		t.Errorf("token verify status = %q", v.Status)
	}
	wantErr(t, foreign.get("/user/tokens/verify"), 401, codeInvalidToken)
	wantErr(t, bogus.get("/user/tokens/verify"), 401, codeAuth)
	wantErr(t, c.get("/user"), 403, codeUserForbidden)
	var members []struct {
		Account struct{ ID string } `json:"account"`
	}
	ok(t, c.get("/memberships")).into(t, &members)
	if len(members) != 1 || members[0].Account.ID != acctA {
		t.Errorf("memberships = %+v", members)
	}
}

func TestRoutingErrors(t *testing.T) {
	t.Parallel()
	_, c := setup(t, Options{})
	wantErr(t, c.get("/nothing/here"), 404, codeNoRoute)
	wantErr(t, c.do("PATCH", "/accounts/"+acctA+"/workers/scripts/x/versions", "", nil), 405, codeMethodNotAllow)
	// A base URL with a trailing slash gives //accounts: refused with a hint, not redirected.
	r := c.get("//accounts/" + acctA + "/workers/scripts")
	wantErr(t, r, 404, codeNoRoute)
	if !strings.Contains(r.env.Errors[0].Message, "slash") {
		t.Errorf("message %q does not explain the slash", r.env.Errors[0].Message)
	}
}

func TestNotFoundCodes(t *testing.T) {
	t.Parallel()
	_, c := setup(t, Options{})
	base := "/accounts/" + acctA + "/workers"
	wantErr(t, c.get(base+"/services/ghost"), 404, codeServiceNotFound)
	for _, p := range []string{"/scripts/ghost/deployments", "/scripts/ghost/versions", "/scripts/ghost/settings", "/scripts/ghost/secrets", "/scripts/ghost/content/v2", "/scripts/ghost/schedules", "/scripts/ghost/subdomain"} {
		wantErr(t, c.get(base+p), 404, codeScriptNotFound)
	}
	wantErr(t, c.json("PUT", base+"/scripts/ghost/secrets", map[string]string{"name": "A", "text": "b", "type": "secret_text"}), 404, codeScriptNotFound)
	ct, body := upload(t, workerMeta("staging", nil), map[string]string{"index.js": workerSrc})
	wantErr(t, c.do("POST", base+"/scripts/ghost/versions", ct, body), 404, codeScriptNotFound)
}

func TestUploadAndContentRoundTrip(t *testing.T) {
	t.Parallel()
	s, c := setup(t, Options{})
	id := putScript(t, c, "w", map[string]any{"migrations": map[string]any{"new_tag": "v1", "steps": []any{}}})
	live, _ := s.Live(acctA, "w")
	if live.Versions[0] != (DeploymentVersion{id, 100}) {
		t.Fatalf("PUT must deploy its version at 100%%: %+v", live)
	}
	r := c.get("/accounts/" + acctA + "/workers/scripts/w/content/v2")
	if r.status != 200 || r.header.Get("cf-entrypoint") != "index.js" {
		t.Fatalf("content/v2: %d entrypoint %q", r.status, r.header.Get("cf-entrypoint"))
	}
	_, params, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(bytes.NewReader(r.body), params["boundary"])
	got := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		got[partFileName(p)] = string(b)
	}
	if got["index.js"] != workerSrc || got["lib/util.js"] != "export const x = 1;\n" {
		t.Errorf("content/v2 modules differ from the upload: %q", got)
	}

	var scripts []struct {
		ID           string `json:"id"`
		MigrationTag string `json:"migration_tag"`
		Tag          string `json:"tag"`
	}
	ok(t, c.get("/accounts/"+acctA+"/workers/scripts")).into(t, &scripts)
	if len(scripts) != 1 || scripts[0].ID != "w" || scripts[0].MigrationTag != "v1" || !isHex32(scripts[0].Tag) {
		t.Errorf("scripts list = %+v", scripts)
	}
	var svc struct {
		DefaultEnvironment struct {
			Script struct {
				Tag              string `json:"tag"`
				LastDeployedFrom string `json:"last_deployed_from"`
			} `json:"script"`
		} `json:"default_environment"`
	}
	ok(t, c.get("/accounts/"+acctA+"/workers/services/w")).into(t, &svc)
	if svc.DefaultEnvironment.Script.Tag != scripts[0].Tag || svc.DefaultEnvironment.Script.LastDeployedFrom != "wrangler" {
		t.Errorf("service = %+v", svc)
	}

	// A migration whose old_tag does not match is refused and changes nothing.
	ct, body := upload(t, workerMeta("staging", map[string]any{"migrations": map[string]any{"old_tag": "v7", "new_tag": "v8"}}), map[string]string{"index.js": workerSrc})
	wantErr(t, c.do("PUT", "/accounts/"+acctA+"/workers/scripts/w", ct, body), 400, codeMigrationTag)
	if n := len(s.Versions(acctA, "w")); n != 1 {
		t.Errorf("a refused upload added a version (%d)", n)
	}
	// An upload that fails after its migration was read leaves the tag alone.
	ct, body = upload(t, workerMeta("staging", map[string]any{
		"migrations":       map[string]any{"old_tag": "v1", "new_tag": "v2"},
		"bindings":         []any{map[string]any{"name": "GONE", "type": "inherit"}},
		"bindings_inherit": "strict",
	}), map[string]string{"index.js": workerSrc})
	wantErr(t, c.do("PUT", "/accounts/"+acctA+"/workers/scripts/w", ct, body), 400, codeBadRequest)
	if info, _ := s.Script(acctA, "w"); info.MigrationTag != "v1" {
		t.Errorf("a refused upload moved the migration tag to %q", info.MigrationTag)
	}
	// Broken uploads say what is wrong.
	wantErr(t, c.do("PUT", "/accounts/"+acctA+"/workers/scripts/w", "application/json", []byte("{}")), 400, codeBadRequest)
	ct, body = upload(t, map[string]any{"main_module": "missing.js"}, map[string]string{"index.js": workerSrc})
	wantErr(t, c.do("PUT", "/accounts/"+acctA+"/workers/scripts/w", ct, body), 400, codeBadRequest)
}

func TestVersionsPaginationAndOrder(t *testing.T) {
	t.Parallel()
	_, c := setup(t, Options{})
	ids := []string{putScript(t, c, "w", nil)}
	for range 4 {
		ids = append(ids, postVersion(t, c, "w", nil))
	}
	slices.Reverse(ids) // newest first
	var seen []string
	for page := 1; ; page++ {
		r := ok(t, c.get(fmt.Sprintf("/accounts/%s/workers/scripts/w/versions?page=%d&per_page=2", acctA, page)))
		var res struct {
			Items []struct {
				ID       string         `json:"id"`
				Metadata map[string]any `json:"metadata"`
			} `json:"items"`
		}
		r.into(t, &res)
		if r.env.ResultInfo == nil || r.env.ResultInfo.Page != page || r.env.ResultInfo.TotalCount != 5 {
			t.Fatalf("result_info = %+v", r.env.ResultInfo)
		}
		if len(res.Items) == 0 {
			break
		}
		if page > 10 {
			t.Fatal("pagination never ends")
		}
		for _, it := range res.Items {
			seen = append(seen, it.ID)
		}
	}
	if !slices.Equal(seen, ids) {
		t.Errorf("paged versions = %v, want newest first %v", seen, ids)
	}
	wantErr(t, c.get("/accounts/"+acctA+"/workers/scripts/w/versions?page=0"), 400, codeBadRequest)
	// deployable=true ignores pagination, page 0 included, and lists items without bindings.
	var dep struct {
		Items []map[string]any `json:"items"`
	}
	ok(t, c.get("/accounts/"+acctA+"/workers/scripts/w/versions?deployable=true&page=0&per_page=0")).into(t, &dep)
	if len(dep.Items) != 5 || dep.Items[0]["id"] != ids[0] {
		t.Errorf("deployable versions = %v, want all 5 newest first", dep.Items)
	}
	for _, it := range dep.Items {
		if _, has := it["resources"]; has || it["metadata"] == nil || it["annotations"] == nil || it["number"] == nil {
			t.Errorf("list item %v: want id, number, metadata and annotations only", it)
		}
	}

	var v struct {
		Annotations map[string]string `json:"annotations"`
		Metadata    struct {
			CreatedOn string `json:"created_on"`
		} `json:"metadata"`
		Resources struct {
			Bindings      []Binding `json:"bindings"`
			ScriptRuntime struct {
				CompatibilityDate string `json:"compatibility_date"`
			} `json:"script_runtime"`
		} `json:"resources"`
	}
	ok(t, c.get("/accounts/"+acctA+"/workers/scripts/w/versions/"+ids[0])).into(t, &v)
	if v.Annotations["workers/triggered_by"] != "upload" || v.Resources.ScriptRuntime.CompatibilityDate != "2025-09-01" || len(v.Resources.Bindings) != 3 {
		t.Errorf("version get = %+v", v)
	}
	if _, err := time.Parse(time.RFC3339Nano, v.Metadata.CreatedOn); err != nil || len(v.Metadata.CreatedOn) != len(stampLayout) {
		t.Errorf("created_on %q is not fixed-width RFC3339", v.Metadata.CreatedOn)
	}
	wantErr(t, c.get("/accounts/"+acctA+"/workers/scripts/w/versions/nope"), 404, codeScriptNotFound)
}

func TestDeployments(t *testing.T) {
	t.Parallel()
	s, c := setup(t, Options{})
	v1 := putScript(t, c, "w", nil)
	v2 := postVersion(t, c, "w", nil)
	v3 := postVersion(t, c, "w", nil)
	base := "/accounts/" + acctA + "/workers/scripts/w/deployments"

	wantErr(t, deploy(c, "w", "", DeploymentVersion{v2, 50}, DeploymentVersion{v1, 40}), 400, codeBadRequest)
	wantErr(t, deploy(c, "w", "", DeploymentVersion{v1, 40}, DeploymentVersion{v2, 30}, DeploymentVersion{v3, 30}), 400, codeBadRequest)
	wantErr(t, deploy(c, "w", "", DeploymentVersion{"nope", 100}), 400, codeBadRequest)
	wantErr(t, deploy(c, "w", "", DeploymentVersion{v2, 50}, DeploymentVersion{v2, 50}), 400, codeBadRequest)
	wantErr(t, c.do("POST", base, "application/json", []byte("{not json")), 400, codeBadRequest)
	if n := len(s.Deployments(acctA, "w")); n != 1 {
		t.Fatalf("refused deployments were stored: %d", n)
	}

	// The live API answers a deployment POST with its id only; the rest is read back.
	var answer map[string]any
	ok(t, deploy(c, "w", "", DeploymentVersion{v3, 10}, DeploymentVersion{v2, 90})).into(t, &answer)
	if len(answer) != 1 || answer["id"] == "" {
		t.Errorf("deployment POST answered %v, want only the id", answer)
	}
	var d Deployment
	ok(t, c.get(base+"/"+answer["id"].(string))).into(t, &d)
	if d.ID == "" || d.Strategy != "percentage" || d.Annotations["workers/message"] != "m" {
		t.Errorf("created deployment = %+v", d)
	}
	var list struct{ Deployments []Deployment }
	ok(t, c.get(base)).into(t, &list)
	if len(list.Deployments) != 2 || list.Deployments[0].ID != d.ID || list.Deployments[1].Versions[0].VersionID != v1 {
		t.Errorf("deployments not newest first: %+v", list.Deployments)
	}
	if list.Deployments[0].CreatedOn <= list.Deployments[1].CreatedOn {
		t.Errorf("created_on does not sort lexically: %s <= %s", list.Deployments[0].CreatedOn, list.Deployments[1].CreatedOn)
	}
	var got Deployment
	ok(t, c.get(base+"/"+d.ID)).into(t, &got)
	if got.ID != d.ID {
		t.Errorf("deployment get = %+v", got)
	}
	wantErr(t, c.do("DELETE", base+"/"+d.ID, "", nil), 400, codeBadRequest)
	ok(t, c.do("DELETE", base+"/"+list.Deployments[1].ID, "", nil))

	// Rollback to v1 is marked as such.
	var rb Deployment
	ok(t, deploy(c, "w", "", DeploymentVersion{v1, 100})).into(t, &rb)
	ok(t, c.get(base+"/"+rb.ID)).into(t, &rb)
	if rb.Annotations["workers/triggered_by"] != "rollback" {
		t.Errorf("rollback deployment annotations = %v", rb.Annotations)
	}
}

func TestSecretsVersionsAndForce(t *testing.T) {
	t.Parallel()
	s, c := setup(t, Options{})
	v1 := putScript(t, c, "w", nil)
	base := "/accounts/" + acctA + "/workers/scripts/w"
	var sec secretJSON
	ok(t, c.json("PUT", base+"/secrets", map[string]string{"name": "B_KEY", "text": "x", "type": "secret_text"})).into(t, &sec)
	if sec != (secretJSON{"B_KEY", "secret_text"}) {
		t.Errorf("secret put result = %+v", sec)
	}
	ok(t, c.json("PUT", base+"/secrets", map[string]string{"name": "A_KEY", "text": "y", "type": "secret_text"}))
	var list []secretJSON
	ok(t, c.get(base+"/secrets")).into(t, &list)
	if len(list) != 2 || list[0].Name != "A_KEY" || list[1].Name != "B_KEY" {
		t.Errorf("secrets = %+v", list)
	}
	ok(t, c.get(base+"/secrets/A_KEY"))
	wantErr(t, c.get(base+"/secrets/NOPE"), 404, codeSecretNotFound)
	if strings.Contains(string(ok(t, c.get(base+"/settings")).body), `"x"`) {
		t.Error("settings show a secret value")
	}

	// Secret bindings show by name in settings; secrets survive a new upload.
	v4 := postVersion(t, c, "w", nil)
	ok(t, deploy(c, "w", "", DeploymentVersion{v4, 100}))
	var settings struct{ Bindings []Binding }
	ok(t, c.get(base+"/settings")).into(t, &settings)
	if !slices.ContainsFunc(settings.Bindings, func(b Binding) bool { return b.Name() == "A_KEY" && b.Type() == "secret_text" }) {
		t.Errorf("settings bindings lack the secret: %v", settings.Bindings)
	}

	r := deploy(c, "w", "", DeploymentVersion{v1, 100})
	wantErr(t, r, 400, codeSecretsChanged)
	if msg := r.env.Errors[0].Message; msg != "The following secrets have changed: A_KEY, B_KEY" {
		t.Errorf("10220 message = %q", msg)
	}
	ok(t, deploy(c, "w", "?force=true", DeploymentVersion{v1, 100}))
	if live, _ := s.Live(acctA, "w"); live.Versions[0].VersionID != v1 {
		t.Errorf("forced deployment not live: %+v", live)
	}
	// The newest version (v4) is not deployed now: secret edits are refused with 10215.
	wantErr(t, c.json("PUT", base+"/secrets", map[string]string{"name": "C", "text": "z", "type": "secret_text"}), 400, codeSecretNotDeploy)
	wantErr(t, c.do("DELETE", base+"/secrets/A_KEY", "", nil), 400, codeSecretNotDeploy)
	ok(t, deploy(c, "w", "?force=true", DeploymentVersion{v4, 100}))
	ok(t, c.do("DELETE", base+"/secrets/A_KEY?url_encoded=true", "", nil))
	if got := s.Secrets(acctA, "w"); !slices.Equal(got, []string{"B_KEY"}) {
		t.Errorf("secrets after delete = %v", got)
	}
}

func TestTriggersAndSettings(t *testing.T) {
	t.Parallel()
	s, c := setup(t, Options{})
	putScript(t, c, "w", nil)
	base := "/accounts/" + acctA + "/workers/scripts/w"

	var sub SubdomainSettings
	ok(t, c.get(base+"/subdomain")).into(t, &sub)
	if sub.Enabled {
		t.Error("a new script must not be on workers.dev before it asks")
	}
	ok(t, c.json("POST", base+"/subdomain", map[string]bool{"enabled": true})).into(t, &sub)
	if !sub.Enabled {
		t.Errorf("subdomain after POST = %+v", sub)
	}
	wantErr(t, c.json("POST", base+"/subdomain", map[string]any{}), 400, codeBadRequest)
	var acct struct{ Subdomain string }
	ok(t, c.get("/accounts/"+acctA+"/workers/subdomain")).into(t, &acct)
	if acct.Subdomain != subA {
		t.Errorf("account subdomain = %q", acct.Subdomain)
	}

	var sched struct{ Schedules []Schedule }
	ok(t, c.json("PUT", base+"/schedules", []map[string]string{{"cron": "0 * * * *"}})).into(t, &sched)
	ok(t, c.get(base+"/schedules")).into(t, &sched)
	if len(sched.Schedules) != 1 || sched.Schedules[0].Cron != "0 * * * *" || sched.Schedules[0].CreatedOn == "" {
		t.Errorf("schedules = %+v", sched)
	}
	wantErr(t, c.json("PUT", base+"/schedules", []map[string]string{{"cron": ""}}), 400, codeBadRequest)

	// Zones: unknown names page through nothing; a known zone is found and routes land in it.
	var zones []map[string]any
	r := ok(t, c.get("/zones?name=example.com&page=1"))
	r.into(t, &zones)
	if len(zones) != 0 || r.env.ResultInfo == nil || r.env.ResultInfo.TotalCount != 0 {
		t.Errorf("zones before any was added = %v %+v", zones, r.env.ResultInfo)
	}
	zid, err := s.AddZone("example.com")
	if err != nil {
		t.Fatal(err)
	}
	ok(t, c.get("/zones?name=example.com")).into(t, &zones)
	if len(zones) != 1 || zones[0]["id"] != zid {
		t.Errorf("zones = %v", zones)
	}
	ok(t, c.json("PUT", base+"/routes", []map[string]string{{"pattern": "api.example.com/*", "zone_name": "example.com"}}))
	var routes []Route
	ok(t, c.get("/zones/"+zid+"/workers/routes")).into(t, &routes)
	if len(routes) != 1 || routes[0].Script != "w" || routes[0].Pattern != "api.example.com/*" {
		t.Errorf("zone routes = %+v", routes)
	}
	ok(t, c.json("PUT", base+"/domains/records", map[string]any{"override_scope": true, "origins": []map[string]string{{"hostname": "api.example.com"}}}))
	var domains []Domain
	ok(t, c.get("/accounts/"+acctA+"/workers/domains?service=w")).into(t, &domains)
	if len(domains) != 1 || domains[0].Hostname != "api.example.com" || domains[0].ZoneID != zid || domains[0].ZoneName != "example.com" {
		t.Errorf("domains = %+v", domains)
	}

	var ss map[string]any
	ok(t, c.json("PATCH", base+"/script-settings", map[string]any{"tags": []string{"cf:environment=staging"}, "observability": map[string]bool{"enabled": false}})).into(t, &ss)
	ok(t, c.get(base+"/script-settings")).into(t, &ss)
	if tags, _ := ss["tags"].([]any); len(tags) != 1 || ss["observability"] == nil {
		t.Errorf("script-settings = %v", ss)
	}
	var settings struct {
		CompatibilityDate  string   `json:"compatibility_date"`
		CompatibilityFlags []string `json:"compatibility_flags"`
		Bindings           []Binding
		Tags               []string
	}
	ok(t, c.get(base+"/settings")).into(t, &settings)
	if settings.CompatibilityDate != "2025-09-01" || settings.CompatibilityFlags == nil || len(settings.Bindings) != 3 || len(settings.Tags) != 1 {
		t.Errorf("settings = %+v", settings)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s, c := setup(t, Options{})
	path := "/accounts/" + acctA + "/workers/scripts"
	s.AddFault(Fault{Path: "GET /accounts/*/workers/scripts", Status: 503, Count: 2, RetryAfter: "0"})
	r := c.get(path)
	wantErr(t, r, 503, codeUnknown)
	if r.header.Get("Retry-After") != "0" {
		t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	wantErr(t, c.get(path), 503, codeUnknown)
	ok(t, c.get(path)) // the count is used up
	if len(s.Faults()) != 0 {
		t.Errorf("used-up fault still listed: %+v", s.Faults())
	}

	s.AddFault(Fault{Method: "POST", Path: "/accounts/*/**", Status: 429, Code: 971})
	wantErr(t, c.json("POST", path+"/x/subdomain", map[string]bool{"enabled": true}), 429, codeRateLimited)
	ok(t, c.get(path)) // other methods pass
	s.ClearFaults()

	s.AddFault(Fault{Path: "GET /accounts/*/workers/scripts", Status: 502, Body: "<html>bad gateway</html>", Count: 1})
	r = c.get(path)
	if r.status != 502 || string(r.body) != "<html>bad gateway</html>" {
		t.Errorf("html fault = %d %q", r.status, r.body)
	}

	s.AddFault(Fault{Path: "GET /accounts/*/workers/scripts", Latency: 120 * time.Millisecond, Count: 1})
	start := time.Now()
	ok(t, c.get(path))
	if took := time.Since(start); took < 120*time.Millisecond {
		t.Errorf("latency fault: answered in %v", took)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	clock := &now
	s, c := setup(t, Options{Now: func() time.Time { return *clock }})
	s.SetRateLimit(3, time.Minute)
	path := "/accounts/" + acctA + "/workers/scripts"
	for range 3 {
		ok(t, c.get(path))
	}
	r := c.get(path)
	wantErr(t, r, 429, codeRateLimited)
	if r.header.Get("Retry-After") != "60" {
		t.Errorf("Retry-After = %q, want 60", r.header.Get("Retry-After"))
	}
	// Another token has its own budget.
	other := c
	other.token = s.Token(acctB)
	ok(t, other.get("/accounts/"+acctB+"/workers/scripts"))
	*clock = now.Add(61 * time.Second)
	ok(t, c.get(path))
	if n := s.RequestCount(c.token); n != 5 {
		t.Errorf("RequestCount = %d, want 5 (the limited one counts too)", n)
	}
}

func TestPersistenceAndReset(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state", "sandbox.json")
	s1, c := setup(t, Options{StatePath: path})
	id := putScript(t, c, "w", nil)
	ok(t, c.json("PUT", "/accounts/"+acctA+"/workers/scripts/w/secrets", map[string]string{"name": "K", "text": "v", "type": "secret_text"}))
	tok := s1.Token(acctA)

	s2, err := New(Options{StatePath: path, Accounts: testAccounts()})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Token(acctA) != tok {
		t.Error("token changed across restarts")
	}
	if vs := s2.Versions(acctA, "w"); len(vs) != 2 || vs[1].ID != id || string(vs[1].Modules[0].Data) != workerSrc {
		t.Errorf("versions after restart = %v", versionIDs(vs))
	}
	if got := s2.Secrets(acctA, "w"); !slices.Equal(got, []string{"K"}) {
		t.Errorf("secrets after restart = %v", got)
	}
	// A new account joins without disturbing the others.
	s3, err := New(Options{StatePath: path, Accounts: append(testAccounts(), Account{ID: strings.Repeat("c", 32), Subdomain: "third", Token: "fixed-token"})})
	if err != nil {
		t.Fatal(err)
	}
	if s3.Token(strings.Repeat("c", 32)) != "fixed-token" || len(s3.Versions(acctA, "w")) != 2 {
		t.Error("merging a new account lost state")
	}

	if err := s3.Reset(); err != nil {
		t.Fatal(err)
	}
	s4, err := New(Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if len(s4.ScriptNames(acctA)) != 0 || s4.Token(acctA) != tok {
		t.Error("reset must empty the scripts and keep accounts and tokens")
	}

	if _, err := New(Options{Accounts: []Account{{ID: "short", Subdomain: "x"}}}); err == nil {
		t.Error("a bad account id was accepted")
	}
}

func TestCorruptStateFileIsReported(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sandbox.json")
	if err := writeFile(path, "{broken"); err != nil {
		t.Fatal(err)
	}
	_, err := New(Options{StatePath: path})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "reset") {
		t.Errorf("err = %v, want one naming the file and the fix", err)
	}
}

func TestEdge(t *testing.T) {
	t.Parallel()
	s, c := setup(t, Options{})
	ts := c.base
	host := "w." + subA + ".workers.dev"
	get := func(h string) (int, healthJSON) {
		req, _ := http.NewRequest("GET", ts+"/health", nil)
		req.Host = h
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out healthJSON
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, out
	}
	if st, _ := get(host); st != 404 {
		t.Errorf("no script: %d, want 404", st)
	}
	id := putScript(t, c, "w", nil)
	if st, _ := get(host); st != 404 {
		t.Errorf("workers.dev not enabled: %d, want 404", st)
	}
	ok(t, c.json("POST", "/accounts/"+acctA+"/workers/scripts/w/subdomain", map[string]bool{"enabled": true}))
	st, h := get(host + ":8443")
	if st != 200 || h != (healthJSON{Status: "ok", Tenant: "t1", Env: "staging", VersionID: id}) {
		t.Errorf("edge = %d %+v", st, h)
	}
	s.MarkUnhealthy(id)
	if st, h := get(host); st != 503 || h.VersionID != id || h.Status != "error" {
		t.Errorf("unhealthy edge = %d %+v", st, h)
	}
	// Preview URLs name a version by the first 8 characters of its id.
	v2 := postVersion(t, c, "w", nil)
	preview := v2[:8] + "-" + host
	ok(t, c.json("POST", "/accounts/"+acctA+"/workers/scripts/w/subdomain", map[string]bool{"enabled": true, "previews_enabled": false}))
	if st, _ := get(preview); st != 404 {
		t.Errorf("preview with previews disabled: %d, want 404", st)
	}
	ok(t, c.json("POST", "/accounts/"+acctA+"/workers/scripts/w/subdomain", map[string]bool{"enabled": true, "previews_enabled": true}))
	if st, h := get(preview); st != 200 || h.VersionID != v2 {
		t.Errorf("preview = %d %+v, want version %s", st, h, v2)
	}
	if st, _ := get("ffffffff-" + host); st != 404 {
		t.Errorf("preview of no version: %d", st)
	}
	if st, _ := get("w.nobody.workers.dev"); st != 404 {
		t.Errorf("unknown subdomain: %d", st)
	}
}

func TestControlAPI(t *testing.T) {
	t.Parallel()
	log := &requestLog{}
	s, c := setup(t, Options{RequestLog: log})
	id := putScript(t, c, "w", nil)
	ctl := func(method, path, body string) (int, []byte) {
		req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	st, body := ctl("GET", "/__sandbox/tokens", "")
	var toks map[string]string
	if err := json.Unmarshal(body, &toks); st != 200 || err != nil || toks[acctA] != s.Token(acctA) {
		t.Fatalf("tokens: %d %s", st, body)
	}
	st, body = ctl("GET", "/__sandbox/status", "")
	var status Status
	if err := json.Unmarshal(body, &status); st != 200 || err != nil || len(status.Accounts) != 2 || status.Accounts[0].Scripts[0].Live[0].VersionID != id {
		t.Fatalf("status: %d %s", st, body)
	}
	if strings.Contains(string(body), s.Token(acctA)) {
		t.Error("status shows a token")
	}
	if st, body = ctl("POST", "/__sandbox/faults", `{"path":"GET /accounts/*/workers/scripts","status":500,"count":1,"latency_ms":5}`); st != 200 {
		t.Fatalf("add fault: %d %s", st, body)
	}
	wantErr(t, c.get("/accounts/"+acctA+"/workers/scripts"), 500, codeUnknown)
	if st, _ = ctl("POST", "/__sandbox/faults", `{"status":500}`); st != 400 {
		t.Errorf("fault without path: %d", st)
	}
	if st, _ = ctl("POST", "/__sandbox/faults", `{"path":"/x","colour":"red"}`); st != 400 {
		t.Errorf("fault with unknown field: %d", st)
	}
	if st, _ = ctl("DELETE", "/__sandbox/faults", ""); st != 200 || len(s.Faults()) != 0 {
		t.Errorf("clear faults: %d", st)
	}
	if st, _ = ctl("POST", "/__sandbox/latency", `{"ms":1}`); st != 200 {
		t.Errorf("latency: %d", st)
	}
	if st, _ = ctl("POST", "/__sandbox/ratelimit", `{"requests":5}`); st != 400 {
		t.Errorf("ratelimit without window: %d", st)
	}
	if st, _ = ctl("POST", "/__sandbox/ratelimit", `{"requests":100,"window_ms":1000}`); st != 200 {
		t.Errorf("ratelimit: %d", st)
	}
	if st, _ = ctl("POST", "/__sandbox/unhealthy", `{"version_id":"`+id+`"}`); st != 200 || s.Status().Unhealthy[0] != id {
		t.Errorf("unhealthy: %d", st)
	}
	if st, body = ctl("POST", "/__sandbox/zones", `{"name":"example.org"}`); st != 200 || !strings.Contains(string(body), `"id"`) {
		t.Errorf("zones: %d %s", st, body)
	}
	if st, body = ctl("POST", "/__sandbox/mutate", `{"account_id":"`+acctA+`","script":"w","op":"set_var","name":"ENVIRONMENT","value":"production"}`); st != 200 {
		t.Fatalf("mutate: %d %s", st, body)
	}
	live, _ := s.Live(acctA, "w")
	v, _ := s.Version(acctA, "w", live.Versions[0].VersionID)
	if v.ID == id || bindingText(v, "ENVIRONMENT") != "production" || v.Source != "dash" {
		t.Errorf("after set_var: live version %s source %s ENVIRONMENT=%q", v.ID, v.Source, bindingText(v, "ENVIRONMENT"))
	}
	if st, _ = ctl("POST", "/__sandbox/mutate", `{"account_id":"`+acctA+`","script":"w","op":"explode"}`); st != 400 {
		t.Errorf("unknown mutation: %d", st)
	}
	if st, _ = ctl("POST", "/__sandbox/reset", ""); st != 200 || len(s.ScriptNames(acctA)) != 0 {
		t.Errorf("reset: %d", st)
	}
	for _, l := range log.all() {
		if strings.Contains(fmt.Sprint(l), s.Token(acctA)) {
			t.Fatal("request log shows a token")
		}
	}
	if log.count("PUT", "/workers/scripts/w", "") != 1 {
		t.Errorf("request log lacks the PUT: %+v", log.all())
	}
}

func TestMutations(t *testing.T) {
	t.Parallel()
	s, c := setup(t, Options{})
	putScript(t, c, "w", nil)
	ok(t, c.json("PUT", "/accounts/"+acctA+"/workers/scripts/w/secrets", map[string]string{"name": "K", "text": "v", "type": "secret_text"}))
	ok(t, c.json("PUT", "/accounts/"+acctA+"/workers/scripts/w/schedules", []map[string]string{{"cron": "0 * * * *"}}))
	yes := true
	for _, m := range []Mutation{
		{Op: "remove_binding", Name: "CACHE"},
		{Op: "set_compat_date", Value: "2026-01-01"},
		{Op: "set_compat_flags", Flags: []string{"nodejs_compat"}},
		{Op: "delete_secret", Name: "K"},
		{Op: "set_crons", Crons: []string{"5 * * * *"}},
		{Op: "set_workers_dev", Enabled: &yes},
	} {
		m.AccountID, m.Script = acctA, "w"
		if err := s.Mutate(m); err != nil {
			t.Fatalf("%s: %v", m.Op, err)
		}
	}
	live, _ := s.Live(acctA, "w")
	v, _ := s.Version(acctA, "w", live.Versions[0].VersionID)
	if slices.ContainsFunc(v.Bindings, func(b Binding) bool { return b.Name() == "CACHE" }) || v.CompatibilityDate != "2026-01-01" ||
		!slices.Equal(v.CompatibilityFlags, []string{"nodejs_compat"}) || len(s.Secrets(acctA, "w")) != 0 {
		t.Errorf("live version after mutations = %+v", v)
	}
	if got := s.Schedules(acctA, "w"); !slices.Equal(got, []string{"5 * * * *"}) {
		t.Errorf("schedules = %v", got)
	}
	if info, _ := s.Script(acctA, "w"); !info.Subdomain.Enabled {
		t.Error("workers.dev not enabled")
	}
	for _, bad := range []Mutation{
		{AccountID: acctA, Script: "ghost", Op: "set_var", Name: "A"},
		{AccountID: "nope", Script: "w", Op: "set_var", Name: "A"},
		{AccountID: acctA, Script: "w", Op: "remove_binding", Name: "NOPE"},
		{AccountID: acctA, Script: "w", Op: "set_compat_date", Value: "yesterday"},
		{AccountID: acctA, Script: "w", Op: "delete_secret", Name: "NOPE"},
	} {
		if err := s.Mutate(bad); err == nil {
			t.Errorf("mutation %+v was accepted", bad)
		}
	}
}

func TestControlAPIRefusesRemoteClients(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, Options{})
	req := httptest.NewRequest("GET", "/__sandbox/tokens", nil)
	req.RemoteAddr = "192.0.2.7:5555"
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != 403 || strings.Contains(rec.Body.String(), s.Token(acctA)) {
		t.Errorf("remote control request: %d %s", rec.Code, rec.Body)
	}
}

func TestPatchSettingsMakesAVersion(t *testing.T) {
	t.Parallel()
	s, c := setup(t, Options{})
	first := putScript(t, c, "w", nil)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("settings", `{"compatibility_date":"2026-02-02","bindings":[{"name":"CACHE","type":"inherit"},{"name":"ENVIRONMENT","type":"plain_text","text":"prod"}],"tags":["a"]}`)
	mw.Close()
	var got struct {
		CompatibilityDate string `json:"compatibility_date"`
		Bindings          []Binding
	}
	ok(t, c.do("PATCH", "/accounts/"+acctA+"/workers/scripts/w/settings", mw.FormDataContentType(), buf.Bytes())).into(t, &got)
	live, _ := s.Live(acctA, "w")
	v, _ := s.Version(acctA, "w", live.Versions[0].VersionID)
	if v.ID == first || v.CompatibilityDate != "2026-02-02" || len(v.Bindings) != 2 || bindingText(v, "ENVIRONMENT") != "prod" || v.Bindings[0]["namespace_id"] == nil {
		t.Errorf("live version after PATCH settings = %+v", v)
	}
	if got.CompatibilityDate != "2026-02-02" || len(got.Bindings) != 2 {
		t.Errorf("PATCH answer = %+v", got)
	}
	if info, _ := s.Script(acctA, "w"); !slices.Equal(info.Tags, []string{"a"}) {
		t.Errorf("tags = %v", info.Tags)
	}
	wantErr(t, c.do("PATCH", "/accounts/"+acctA+"/workers/scripts/w/settings", "application/json", []byte(`{"bindings":[{"name":"X","type":"inherit"}],"bindings_inherit":"strict"}`)), 400, codeBadRequest)
}

// Differences found against wrangler's mocks and cloudflare-go's types, fixed to match.
func TestFidelityWithCloudflare(t *testing.T) {
	t.Parallel()
	s, c := setup(t, Options{})
	putScript(t, c, "w", nil)
	// A subdomain POST without previews_enabled turns previews on; uploads then say so.
	var sub SubdomainSettings
	ok(t, c.json("POST", "/accounts/"+acctA+"/workers/scripts/w/subdomain", map[string]bool{"enabled": true})).into(t, &sub)
	if !sub.Enabled || !sub.PreviewsEnabled {
		t.Errorf("subdomain after {enabled:true} = %+v, want previews on", sub)
	}
	ct, body := upload(t, workerMeta("staging", map[string]any{
		"bindings": []any{
			map[string]any{"name": "TENANT_ID", "type": "inherit"},
			map[string]any{"name": "NEVER_EXISTED", "type": "inherit"},
		},
	}), map[string]string{"index.js": workerSrc})
	var v struct {
		ID       string         `json:"id"`
		Metadata map[string]any `json:"metadata"`
	}
	ok(t, c.do("POST", "/accounts/"+acctA+"/workers/scripts/w/versions", ct, body)).into(t, &v)
	if v.Metadata["has_preview"] != true {
		t.Errorf("upload with previews on: has_preview = %v", v.Metadata["has_preview"])
	}
	// The inherit that cannot be resolved is dropped, the other one resolved.
	got, _ := s.Version(acctA, "w", v.ID)
	if len(got.Bindings) != 1 || got.Bindings[0].Name() != "TENANT_ID" || bindingText(got, "TENANT_ID") != "t1" {
		t.Errorf("bindings after inherit = %v", got.Bindings)
	}
	// PATCH /settings applies migrations: the tag moves, a wrong old_tag is refused.
	patch := func(m map[string]any) apiResp {
		return c.json("PATCH", "/accounts/"+acctA+"/workers/scripts/w/settings", map[string]any{"migrations": m})
	}
	ok(t, patch(map[string]any{"old_tag": "", "new_tag": "v7", "steps": []any{map[string]any{"new_sqlite_classes": []string{"C"}}}}))
	if info, _ := s.Script(acctA, "w"); info.MigrationTag != "v7" {
		t.Errorf("migration tag after PATCH = %q, want v7", info.MigrationTag)
	}
	live, _ := s.Live(acctA, "w")
	if lv, _ := s.Version(acctA, "w", live.Versions[0].VersionID); lv.MigrationTag != "v7" {
		t.Errorf("the PATCH's version carries tag %q", lv.MigrationTag)
	}
	wantErr(t, patch(map[string]any{"old_tag": "v1", "new_tag": "v8"}), 400, codeMigrationTag)
	if info, _ := s.Script(acctA, "w"); info.MigrationTag != "v7" {
		t.Errorf("a refused PATCH moved the tag to %q", info.MigrationTag)
	}
}

// A version upload is a version without traffic: it shows as the script's latest_version in
// the status while the old one keeps 100%; one with migrations is refused with 10211 and adds
// nothing; a split holds two versions at most, summing to 100.
func TestVersionUploadAndSplit(t *testing.T) {
	t.Parallel()
	s, c := setup(t, Options{})
	v1 := putScript(t, c, "w", nil)
	v2 := postVersion(t, c, "w", nil)
	st := s.Status()
	sc := st.Accounts[0].Scripts[0]
	if sc.LatestVersion != v2 || len(sc.Live) != 1 || sc.Live[0] != (DeploymentVersion{v1, 100}) {
		t.Fatalf("after a version upload: latest %s live %+v, want latest %s and %s at 100%%", sc.LatestVersion, sc.Live, v2, v1)
	}
	ct, body := upload(t, workerMeta("staging", map[string]any{"migrations": map[string]any{"old_tag": "", "new_tag": "v1"}}), map[string]string{"index.js": workerSrc})
	wantErr(t, c.do("POST", "/accounts/"+acctA+"/workers/scripts/w/versions", ct, body), 400, codeVersionMigration)
	if n := len(s.Versions(acctA, "w")); n != 2 {
		t.Errorf("a refused version upload changed the versions (%d, want 2)", n)
	}
	ok(t, deploy(c, "w", "", DeploymentVersion{v2, 10}, DeploymentVersion{v1, 90}))
	if live, _ := s.Live(acctA, "w"); len(live.Versions) != 2 || live.Versions[0] != (DeploymentVersion{v2, 10}) {
		t.Errorf("split = %+v", live.Versions)
	}
	v3 := postVersion(t, c, "w", nil)
	wantErr(t, deploy(c, "w", "", DeploymentVersion{v3, 10}, DeploymentVersion{v2, 10}, DeploymentVersion{v1, 80}), 400, codeBadRequest)
	wantErr(t, deploy(c, "w", "", DeploymentVersion{v3, 10}, DeploymentVersion{v1, 80}), 400, codeBadRequest)
}

// ScriptNames lists the Workers of an account, sorted.
func (s *Server) ScriptNames(accountID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.w.Accounts[accountID]; a != nil {
		return sortedKeys(a.Scripts)
	}
	return nil
}

// The live API's lean answers by default, the schema's full ones with SchemaAnswers.
func TestLiveAnswersAndSchemaAnswers(t *testing.T) {
	t.Parallel()
	for _, schema := range []bool{false, true} {
		_, c := setup(t, Options{SchemaAnswers: schema})
		v1 := putScript(t, c, "w", nil)
		base := "/accounts/" + acctA + "/workers/scripts/w"
		var dep, sec map[string]any
		ok(t, deploy(c, "w", "", DeploymentVersion{v1, 100})).into(t, &dep)
		ok(t, c.json("PUT", base+"/secrets", map[string]string{"name": "K", "text": "x", "type": "secret_text"}))
		ok(t, c.get(base+"/secrets/K")).into(t, &sec)
		var uploads []map[string]any
		for range 2 {
			ct, body := upload(t, map[string]any{"main_module": "index.js"}, map[string]string{"index.js": "export default {}"})
			var up map[string]any
			ok(t, c.do("POST", base+"/versions", ct, body)).into(t, &up)
			uploads = append(uploads, up)
		}
		_, odd := uploads[0]["startup_time_ms"] // versions 1 (PUT), 2 (secret), 3: odd
		_, even := uploads[1]["startup_time_ms"]
		if schema {
			if len(dep) < 5 || sec == nil || !odd || !even {
				t.Errorf("schema answers: deployment %v, secret %v, startup_time_ms %v/%v", dep, sec, odd, even)
			}
			continue
		}
		if len(dep) != 1 || dep["id"] == nil || sec != nil || !odd || even {
			t.Errorf("live answers: deployment %v, secret %v, startup_time_ms %v/%v", dep, sec, odd, even)
		}
	}
}

// Named faults: each answers as its catalogue entry says, once by default; a reset ends the
// connection without an answer, before or after the request took effect.
func TestNamedFaults(t *testing.T) {
	t.Parallel()
	s, c := setup(t, Options{})
	v1 := putScript(t, c, "w", nil)
	base := "/accounts/" + acctA + "/workers/scripts/w"
	for _, tc := range []struct {
		name         string
		status, code int
		call         func() apiResp
	}{
		{"incomplete-body", 400, 10013, func() apiResp { return postVersionResp(t, c, "w") }},
		{"kv-write-perms", 400, 10023, func() apiResp { return postVersionResp(t, c, "w") }},
		{"migration-on-version", 400, codeVersionMigration, func() apiResp { return postVersionResp(t, c, "w") }},
		{"version-not-yet-readable", 404, 100146, func() apiResp { return c.get(base + "/versions/" + v1) }},
		{"rate-limited", 429, codeRateLimited, func() apiResp { return c.get(base + "/deployments") }},
		{"throttled-6100", 429, 6100, func() apiResp { return c.get(base + "/deployments") }},
		{"secrets-changed", 400, codeSecretsChanged, func() apiResp { return deploy(c, "w", "", DeploymentVersion{v1, 100}) }},
	} {
		f, err := NamedFault(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		s.AddFault(f)
		wantErr(t, tc.call(), tc.status, tc.code)
		ok(t, tc.call()) // once only
	}
	if _, err := NamedFault("nope"); err == nil || !strings.Contains(err.Error(), "incomplete-body") {
		t.Errorf("unknown name: %v", err)
	}

	send := func(method, path, ct string, body []byte) error {
		req, _ := http.NewRequest(method, c.base+"/client/v4"+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", ct)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	before := len(s.Deployments(acctA, "w"))
	s.AddFault(Fault{Name: "connection-reset", Count: 1})
	ct, body := upload(t, map[string]any{"main_module": "index.js"}, map[string]string{"index.js": "export default {}"})
	if err := send("POST", base+"/versions", ct, body); err == nil {
		t.Error("connection-reset: the version POST got an answer")
	}
	s.AddFault(Fault{Name: "deployment-answer-lost"})
	b, _ := json.Marshal(map[string]any{"strategy": "percentage", "versions": []DeploymentVersion{{v1, 100}}})
	if err := send("POST", base+"/deployments", "application/json", b); err == nil {
		t.Error("deployment-answer-lost: the deployment POST got an answer")
	}
	if n := len(s.Deployments(acctA, "w")); n != before+1 {
		t.Errorf("deployment-answer-lost: %d deployments, want %d (the write takes effect)", n, before+1)
	}
}

func postVersionResp(t *testing.T, c apiClient, name string) apiResp {
	ct, body := upload(t, map[string]any{"main_module": "index.js"}, map[string]string{"index.js": "export default {}"})
	return c.do("POST", "/accounts/"+acctA+"/workers/scripts/"+name+"/versions", ct, body)
}
