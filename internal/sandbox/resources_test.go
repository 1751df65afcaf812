package sandbox

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	seededKV    = "8e7fc1defecc23f57579b090676292e4"
	seededIndex = "fixture-docs-staging"
)

func setupResources(t *testing.T) (*Server, apiClient, *httptest.Server) {
	t.Helper()
	accts := testAccounts()
	accts[0].KVNamespaces = []KVNamespace{{ID: seededKV, Title: "cache"}}
	accts[0].VectorizeIndexes = []VectorizeIndex{{Name: seededIndex}}
	s, ts := newTestServer(t, Options{Accounts: accts})
	return s, apiClient{t: t, base: ts.URL, token: s.Token(acctA)}, ts
}

func TestResourcesSeededAndDeleted(t *testing.T) {
	t.Parallel()
	s, c, ts := setupResources(t)
	base := "/accounts/" + acctA

	var list []kvJSON
	r := ok(t, c.get(base+"/storage/kv/namespaces?page=1&per_page=100"))
	r.into(t, &list)
	if len(list) != 1 || list[0].ID != seededKV || list[0].Title != "cache" || r.env.ResultInfo == nil || r.env.ResultInfo.TotalCount != 1 {
		t.Fatalf("kv list = %+v info %+v", list, r.env.ResultInfo)
	}
	ok(t, c.get(base+"/storage/kv/namespaces/"+seededKV))
	wantErr(t, c.get(base+"/storage/kv/namespaces/00000000000000000000000000000000"), 404, codeKVNotFound)

	var ix vectorizeJSON
	ok(t, c.get(base+"/vectorize/v2/indexes/"+seededIndex)).into(t, &ix)
	if ix.Name != seededIndex || ix.Config.Dimensions != 768 || ix.Config.Metric != "cosine" || ix.CreatedOn == "" {
		t.Fatalf("index = %+v", ix)
	}
	wantErr(t, c.get(base+"/vectorize/v2/indexes/nope"), 404, codeVectorizeNotFound)

	// Another account's token reads nothing here, and that account has none of these.
	foreign := c
	foreign.token = s.Token(acctB)
	wantErr(t, foreign.get(base+"/storage/kv/namespaces"), 403, codeAuth)
	var other []kvJSON
	ok(t, foreign.get("/accounts/"+acctB+"/storage/kv/namespaces")).into(t, &other)
	if len(other) != 0 {
		t.Fatalf("account B has %v", other)
	}

	// Durable Object namespaces come from the Workers' own-class bindings.
	putScript(t, c, "w1", map[string]any{"bindings": []any{
		map[string]any{"name": "COUNTER", "type": "durable_object_namespace", "class_name": "Counter"},
		map[string]any{"name": "OTHER", "type": "durable_object_namespace", "class_name": "Elsewhere", "script_name": "other"},
	}})
	var dos []doNamespaceJSON
	ok(t, c.get(base+"/workers/durable_objects/namespaces?per_page=100")).into(t, &dos)
	if len(dos) != 1 || dos[0].Class != "Counter" || dos[0].Script != "w1" || dos[0].ID == "" {
		t.Fatalf("DO namespaces = %+v", dos)
	}

	// The control API makes the account unready, one resource at a time.
	for _, m := range []string{
		`{"account_id":"` + acctA + `","op":"delete_kv_namespace","id":"` + seededKV + `"}`,
		`{"account_id":"` + acctA + `","op":"delete_vectorize_index","name":"` + seededIndex + `"}`,
		`{"account_id":"` + acctA + `","op":"delete_do_namespace","script":"w1","class":"Counter"}`,
	} {
		ctl(t, ts.URL, "POST", "/__sandbox/resources", m, 200)
	}
	wantErr(t, c.get(base+"/storage/kv/namespaces/"+seededKV), 404, codeKVNotFound)
	wantErr(t, c.get(base+"/vectorize/v2/indexes/"+seededIndex), 404, codeVectorizeNotFound)
	ok(t, c.get(base+"/workers/durable_objects/namespaces")).into(t, &dos)
	if len(dos) != 0 {
		t.Fatalf("DO namespaces after delete = %+v", dos)
	}
	body := ctl(t, ts.URL, "POST", "/__sandbox/resources", `{"account_id":"`+acctA+`","op":"delete_kv_namespace","id":"`+seededKV+`"}`, 400)
	if !strings.Contains(body, "has no KV namespace") {
		t.Errorf("second delete: %s", body)
	}
	ctl(t, ts.URL, "POST", "/__sandbox/resources", `{"account_id":"`+acctA+`","op":"nope"}`, 400)
}

func TestTokenKinds(t *testing.T) {
	t.Parallel()
	s, c, _ := setupResources(t)
	var v struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	ok(t, c.get("/accounts/"+acctA+"/tokens/verify")).into(t, &v)
	if v.Status != "active" || v.ID == "" {
		t.Fatalf("verify = %+v", v)
	}
	wantErr(t, c.get("/user/tokens/verify"), 401, codeInvalidToken)

	if err := s.MutateResources(ResourceMutation{AccountID: acctA, Op: "set_token", Kind: TokenUser, Status: "expired"}); err != nil {
		t.Fatal(err)
	}
	ok(t, c.get("/user/tokens/verify")).into(t, &v)
	if v.Status != "expired" {
		t.Fatalf("user verify = %+v", v)
	}
	wantErr(t, c.get("/accounts/"+acctA+"/tokens/verify"), 401, codeInvalidToken)
	if err := s.MutateResources(ResourceMutation{AccountID: acctA, Op: "set_token", Kind: "robot"}); err == nil {
		t.Fatal("an unknown token kind was accepted")
	}
}

func ctl(t *testing.T, base, method, path, body string, want int) string {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	return string(b)
}
