package authcheck_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/authcheck"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

const (
	accountA = "4f1c2b7e9a0d43c8b6e5f70192a3b4c5"
	accountB = "9e8d7c6b5a4f43e2a1b0c9d8e7f6a5b4"
)

// explicit points the run at the sandbox through CLOUDFLARE_API_BASE_URL as if it were
// Cloudflare, so tokens come from the tenants' variables: behind a proxy that hides the
// sandbox's control API (an explicit URL that answers as a sandbox is a rehearsal with the
// sandbox's tokens).
func explicit(t *testing.T) (workspace.Workspace, *testworld.Sandbox) {
	ws := testrepo.Copy(t, testrepo.Repo(t), testrepo.Options{Git: true})
	other := testrepo.Copy(t, testrepo.Repo(t), testrepo.Options{Git: true})
	sb := testworld.StartSandbox(t, other)
	target, err := url.Parse(sb.URL)
	if err != nil {
		t.Fatal(err)
	}
	api := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/__sandbox/") {
			http.NotFound(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Setenv(sandboxctl.BaseURLEnv, front.URL+"/client/v4")
	return ws, sb
}

func render(t *testing.T, rs []authcheck.Result) string {
	var b bytes.Buffer
	if err := authcheck.Table(rs).Text(&b, false); err != nil {
		t.Fatal(err)
	}
	if err := authcheck.Table(rs).Markdown(&b); err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(rs)
	return b.String() + string(j)
}

func TestAllOKAgainstTheSandbox(t *testing.T) {
	ws, sb := explicit(t)
	env := map[string]string{
		"CLOUDFLARE_API_TOKEN_MRRAINBOWSMOKE":       sb.Server.Token(accountA),
		"CLOUDFLARE_API_TOKEN_RAINBOWSMOKEOFFICIAL": sb.Server.Token(accountB),
	}
	rs, err := authcheck.Command(context.Background(), ws, slog.New(slog.DiscardHandler), "all", mapLookup(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || authcheck.Failed(rs) != 0 {
		t.Fatalf("results = %+v", rs)
	}
	for _, r := range rs {
		if r.Source != "environment" || !r.Found || !r.Valid || !r.Reaches {
			t.Errorf("%+v", r)
		}
	}
	out := render(t, rs)
	for _, tok := range env {
		if strings.Contains(out, tok) {
			t.Fatal("a token value appears in the output")
		}
	}
}

func TestWrongTokensReportedByTenantWithoutValue(t *testing.T) {
	ws, sb := explicit(t)
	const bogus = "sbx_this-is-not-a-real-token-0123456789"
	env := map[string]string{
		// A's token is invalid; B's is valid but belongs to A's account.
		"CLOUDFLARE_API_TOKEN_MRRAINBOWSMOKE":       bogus,
		"CLOUDFLARE_API_TOKEN_RAINBOWSMOKEOFFICIAL": sb.Server.Token(accountA),
	}
	rs, err := authcheck.Command(context.Background(), ws, slog.New(slog.DiscardHandler), "all", mapLookup(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	if authcheck.Failed(rs) != 2 {
		t.Fatalf("results = %+v", rs)
	}
	a, b := rs[0], rs[1]
	if a.Tenant != "mrrainbowsmoke" || !a.Found || a.Valid || !strings.Contains(a.Problem, "CLOUDFLARE_API_TOKEN_MRRAINBOWSMOKE") {
		t.Errorf("invalid token: %+v", a)
	}
	if b.Tenant != "rainbowsmokeofficial" || !b.Valid || b.Reaches || !strings.Contains(b.Problem, accountB) {
		t.Errorf("token of another account: %+v", b)
	}
	out := render(t, rs)
	if strings.Contains(out, bogus) || strings.Contains(out, sb.Server.Token(accountA)) {
		t.Fatalf("a token value appears in the output:\n%s", out)
	}
	if !strings.Contains(out, "mrrainbowsmoke") || !strings.Contains(out, "FAIL") {
		t.Errorf("output does not report by tenant:\n%s", out)
	}
}

func TestMissingTokenNamesTheVariable(t *testing.T) {
	ws, _ := explicit(t)
	rs, err := authcheck.Command(context.Background(), ws, slog.New(slog.DiscardHandler), "mrrainbowsmoke", mapLookup(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Found || !strings.Contains(rs[0].Problem, "CLOUDFLARE_API_TOKEN_MRRAINBOWSMOKE") {
		t.Fatalf("%+v", rs)
	}
}

func TestBadTenantNameRefused(t *testing.T) {
	ws, _ := explicit(t)
	if _, err := authcheck.Command(context.Background(), ws, slog.New(slog.DiscardHandler), "../etc", mapLookup(nil), nil); err == nil {
		t.Fatal("a path was accepted as a tenant name")
	}
}

func TestCheckedInTheSandboxWithItsTokens(t *testing.T) {
	ws := testrepo.Copy(t, testrepo.Repo(t), testrepo.Options{Git: true})
	testworld.StartSandbox(t, ws)
	t.Setenv(sandboxctl.BaseURLEnv, "")
	var banner bytes.Buffer
	rs, err := authcheck.Command(context.Background(), ws, slog.New(slog.DiscardHandler), "all", mapLookup(nil), &banner)
	if err != nil {
		t.Fatal(err)
	}
	if authcheck.Failed(rs) != 0 || rs[0].Source != string(authcheck.FromSandbox) {
		t.Fatalf("%+v", rs)
	}
	if !strings.Contains(banner.String(), "sandbox") {
		t.Errorf("no sandbox banner: %q", banner.String())
	}
}

func mapLookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}
