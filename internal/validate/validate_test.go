package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

func TestLooksSecret(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		secret      bool
	}{
		{"LOG_LEVEL", "debug", false},
		{"TENANT_ID", "mrrainbowsmoke", false},
		{"TENANT_ID", "rainbowsmokeofficial", false},
		{"ENVIRONMENT", "production", false},
		{"FEATURE_AI_CHAT", "true", false},
		{"UPSTREAM", "https://api.example.com/v1/items?limit=20", false},
		{"GREETING", "Hello from the edge, have a nice day", false},
		{"INDEX", "mrrainbowsmoke-docs-production", false},
		{"UPSTREAM", "https://user:hunter2@api.example.com/", true},
		{"X", "sk_live_51HqT2xLmN0pQrStUvWx", true},
		{"X", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", true},
		{"X", "AKIAIOSFODNN7EXAMPLE", true},
		{"X", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", true},
		{"X", "xoxb-1234567890-abcdefghij", true},
		{"X", "-----BEGIN RSA PRIVATE KEY-----\nMIIB", true},
		{"X", "Bearer abcdefghijklmnop12345", true},
		{"X", "q8Zr2Lw9Xv4Tn7Bp1Kd6Hs3M", true},
		{"CF_API_TOKEN", "anything", true},
		{"WEBHOOK_SECRET", "", false},
		{"TOKEN_TTL_SECONDS", "3600", false},
		{"SECRET_ROTATION_ENABLED", "true", false},
		{"TOKEN_AUDIENCE", "api", false},
	} {
		if got := looksSecret(tc.name, tc.value) != ""; got != tc.secret {
			t.Errorf("looksSecret(%q, %q) = %v (%q), want %v", tc.name, tc.value, got, looksSecret(tc.name, tc.value), tc.secret)
		}
	}
}

func TestRunRefusesBadTargets(t *testing.T) {
	root := baseWorkspace(t)
	v := validatorFor(t, root)
	_, err := v.Run(context.Background(), "nosuch")
	if !errors.Is(err, tenant.ErrUnknown) || !strings.Contains(err.Error(), "alpha, beta") {
		t.Errorf("Run(nosuch) = %v; want ErrUnknown listing alpha, beta", err)
	}
	// A tenant-shaped folder beside tenants/: "../etc" must be refused by name, not by luck.
	copyTree(t, filepath.Join(root, "tenants", "alpha"), filepath.Join(root, "etc"))
	for _, target := range []string{"../etc", "alpha/..", "", "ALPHA"} {
		if _, err := v.Run(context.Background(), target); !errors.Is(err, tenant.ErrInvalidName) {
			t.Errorf("Run(%q) = %v; want ErrInvalidName", target, err)
		}
	}
}

// TestSingleTenantSeesOthers: validating one tenant still catches a Worker name it shares
// with another tenant, but reports only its own files.
func TestSingleTenantSeesOthers(t *testing.T) {
	root := baseWorkspace(t)
	p := filepath.Join(root, "tenants", "beta", "wrangler.jsonc")
	b, _ := os.ReadFile(p)
	b = bytes.Replace(b, []byte(`"name": "beta-api",`), []byte(`"name": "alpha-api",`), 1)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	v := validatorFor(t, root)
	r, err := v.Run(context.Background(), "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if got := brief(r.Problems); len(got) != 1 || got[0] != "tenants/alpha/wrangler.jsonc:30:15: worker-name-duplicate" {
		t.Fatalf("validate alpha = %v", got)
	}
	if !strings.Contains(r.Problems[0].Message, "beta/production") {
		t.Errorf("message %q does not name the other user", r.Problems[0].Message)
	}
}

func TestReportFormats(t *testing.T) {
	r := &Report{Tenants: []string{"alpha"}, Problems: []Problem{
		{Path: "tenants/alpha/wrangler.jsonc", Line: 3, Col: 5, Rule: "account-id-mismatch", Message: "wrong", Hint: "fix it"},
		{Path: "tenants/alpha/wrangler.jsonc", Rule: "file-missing", Message: "gone"},
	}}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	want := "tenants/alpha/wrangler.jsonc:3:5: account-id-mismatch: wrong\n    hint: fix it\n" +
		"tenants/alpha/wrangler.jsonc: file-missing: gone\n2 problem(s) in 1 tenant(s) checked\n"
	if text.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", text.String(), want)
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		OK       bool      `json:"ok"`
		Tenants  []string  `json:"tenants"`
		Problems []Problem `json:"problems"`
	}
	dec := json.NewDecoder(&js)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	if back.OK || len(back.Problems) != 2 || back.Problems[0] != r.Problems[0] {
		t.Errorf("JSON round trip = %+v", back)
	}
	if r.Err() == nil {
		t.Error("Err() = nil for a report with problems")
	}
	clean := &Report{Tenants: []string{"a"}, Problems: []Problem{}}
	js.Reset()
	_ = clean.WriteJSON(&js)
	if !strings.Contains(js.String(), `"problems": []`) || clean.Err() != nil {
		t.Errorf("clean report JSON = %s, Err = %v", js.String(), clean.Err())
	}
}

// TestRepositoryTenants is the acceptance check: the real tenants validate clean.
func TestRepositoryTenants(t *testing.T) {
	ws := repo(t)
	names, err := tenant.List(ws)
	if err != nil || len(names) == 0 {
		t.Skipf("no tenants in this checkout yet: %v", err)
	}
	v, err := New(ws, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := v.Run(context.Background(), "all")
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	_ = r.WriteText(&text)
	if !r.OK() {
		t.Fatalf("repository tenants have problems:\n%s", text.String())
	}
}

func TestRunHonoursCancel(t *testing.T) {
	v := validatorFor(t, baseWorkspace(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.Run(ctx, "all"); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context = %v", err)
	}
}

// TestStructuredVarsAreNotSecrets: a JSON-valued var is long and mixed once encoded, but it
// is configuration, not a token.
func TestStructuredVarsAreNotSecrets(t *testing.T) {
	root := baseWorkspace(t)
	p := filepath.Join(root, "tenants", "alpha", "wrangler.jsonc")
	b, _ := os.ReadFile(p)
	b = bytes.ReplaceAll(b, []byte(`"LOG_LEVEL": "`), []byte(`"LIMITS": {"perMinute": 120, "burst": 30, "paths": ["/v1/x", "/v2/y"]}, "LOG_LEVEL": "`))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := validatorFor(t, root).Run(context.Background(), "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("problems: %v", brief(r.Problems))
	}
	tn, err := tenant.Load(context.Background(), workspace.Workspace{Root: root}, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	res, _ := tn.Resolve(tenant.Production)
	if res.Vars["LIMITS"] == "" {
		t.Fatal("the JSON var did not reach the resolved env; the test proves nothing")
	}
}

// Issue 15: a symlinked tenant folder is reported (not silently dropped), and a symlinked
// tenants/ is refused, both with the reason.
func TestSymlinkedTenantsAreRefused(t *testing.T) {
	root := baseWorkspace(t)
	elsewhere := t.TempDir()
	if err := os.Rename(filepath.Join(root, "tenants", "beta"), filepath.Join(elsewhere, "beta")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(elsewhere, "beta"), filepath.Join(root, "tenants", "beta")); err != nil {
		t.Fatal(err)
	}
	v := validatorFor(t, root)
	r, err := v.Run(context.Background(), "all")
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, p := range r.Problems {
		found = found || p.Path == "tenants/beta" && p.Rule == RuleTenantDirInvalid && strings.Contains(p.Message, "symbolic link")
	}
	if !found {
		t.Errorf("the linked tenant is not reported: %v", brief(r.Problems))
	}
	if _, err := v.Run(context.Background(), "beta"); !errors.Is(err, tenant.ErrSymlink) {
		t.Errorf("validate beta (a link) = %v, want ErrSymlink", err)
	}

	moved := t.TempDir()
	if err := os.Rename(filepath.Join(root, "tenants"), filepath.Join(moved, "tenants")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(moved, "tenants"), filepath.Join(root, "tenants")); err != nil {
		t.Fatal(err)
	}
	if _, err := validatorFor(t, root).Run(context.Background(), "all"); !errors.Is(err, tenant.ErrSymlink) || !strings.Contains(err.Error(), "tenants/ is a symbolic link") {
		t.Errorf("validate all with tenants/ a link = %v", err)
	}
}
