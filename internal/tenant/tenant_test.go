package tenant

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/jsonc"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"mrrainbowsmoke", true},
		{"rainbow-smoke-2", true},
		{"a", true},
		{"", false},
		{"all", false},
		{"../etc", false},
		{"..", false},
		{"a/b", false},
		{`a\b`, false},
		{"Upper", false},
		{"-lead", false},
		{"trail-", false},
		{"under_score", false},
		{"dot.name", false},
		{"space name", false},
		{"nul\x00", false},
		{"ünïcode", false},
		{strings.Repeat("a", 51), false},
	} {
		err := ValidName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidName(%q) error %v does not wrap ErrInvalidName", tc.name, err)
		}
	}
}

func TestParseEnv(t *testing.T) {
	for in, want := range map[string]Env{"dev": Dev, "staging": Staging, "production": Production, "prod": Production} {
		got, err := ParseEnv(in)
		if err != nil || got != want {
			t.Errorf("ParseEnv(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// Exact names only: a deploy to production must never come from a typo that happens to
	// fold onto it.
	for _, in := range []string{"", "stage", "preview", "../x", "PROD", "Production", " production ", "production\n", "Staging"} {
		_, err := ParseEnv(in)
		if !errors.Is(err, ErrInvalidEnv) || !strings.Contains(fmt.Sprint(err), "dev, staging or production") {
			t.Errorf("ParseEnv(%q) error = %v, want ErrInvalidEnv listing the names", in, err)
		}
	}
}

// newWorkspace writes tenants from name -> {file: content} into a temporary workspace.
func newWorkspace(t *testing.T, tenants map[string]map[string]string) workspace.Workspace {
	t.Helper()
	ws := workspace.Workspace{Root: t.TempDir()}
	for name, files := range tenants {
		dir := filepath.Join(ws.TenantsDir(), name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f, content := range files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ws
}

const testConfig = `{"tenant_id":"acme","display_name":"Acme","account_id":"0123456789abcdef0123456789abcdef",
"workers_dev_subdomain":"acmesub","health_check":{"path":"/health","deadline_seconds":30},
"required_secrets":["TOKEN"],"dev":{"port":8799}}`

// testWrangler exercises wrangler's inheritance: staging sets almost nothing itself,
// production overrides the inheritable keys.
const testWrangler = `// comment
{
  "name": "acme-api-dev",
  "account_id": "0123456789abcdef0123456789abcdef",
  "main": "src/index.ts",
  "compatibility_date": "2026-01-01",
  "compatibility_flags": ["nodejs_compat"],
  "vars": { "TENANT_ID": "acme", "N": 3 },
  "kv_namespaces": [{ "binding": "CACHE", "id": "k1" }],
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Counter"] }],
  "triggers": { "crons": ["0 * * * *"] },
  "dev": { "port": 8799 },
  "env": {
    "staging": {
      "vars": { "TENANT_ID": "acme" },
    },
    "production": {
      "name": "acme-api",
      "account_id": "fedcba9876543210fedcba9876543210",
      "compatibility_date": "2026-02-01",
      "compatibility_flags": [],
      "routes": [{ "pattern": "api.acme.example/*", "zone_name": "acme.example" }],
      "route": "ignored.example/*",
      "triggers": { "crons": [] },
      "ai": { "binding": "AI" },
      "durable_objects": { "bindings": [{ "name": "COUNTER", "class_name": "Counter" }] }
    }
  }
}`

func loadTest(t *testing.T) *Tenant {
	t.Helper()
	ws := newWorkspace(t, map[string]map[string]string{"acme": {ConfigFile: testConfig, WranglerFile: testWrangler}})
	tn, err := Load(context.Background(), ws, "acme")
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func TestResolveInheritance(t *testing.T) {
	tn := loadTest(t)
	dev, err := tn.Resolve(Dev)
	if err != nil {
		t.Fatal(err)
	}
	stg, err := tn.Resolve(Staging)
	if err != nil {
		t.Fatal(err)
	}
	prd, err := tn.Resolve(Production)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got, want any) {
		t.Helper()
		if !equal(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}
	check("dev.WorkerName", dev.WorkerName, "acme-api-dev")
	check("dev.WranglerEnv", dev.WranglerEnv, "")
	check("dev.Vars", dev.Vars, map[string]string{"TENANT_ID": "acme", "N": "3"})
	check("dev.WorkersDev (no routes, unset)", dev.WorkersDev, true)
	check("dev.MainPath", dev.MainPath, filepath.Join(tn.Dir, "src", "index.ts"))
	// Staging: name inherited with the env appended; inheritable keys from the top level;
	// bindings are not inherited.
	check("staging.WorkerName", stg.WorkerName, "acme-api-dev-staging")
	check("staging.WranglerEnv", stg.WranglerEnv, "staging")
	check("staging.AccountID", stg.AccountID, "0123456789abcdef0123456789abcdef")
	check("staging.CompatDate", stg.CompatDate, "2026-01-01")
	check("staging.CompatFlags", stg.CompatFlags, []string{"nodejs_compat"})
	check("staging.Crons", stg.Crons, []string{"0 * * * *"})
	check("staging.Migrations", len(stg.Migrations), 1)
	check("staging.Vars", stg.Vars, map[string]string{"TENANT_ID": "acme"})
	check("staging.Bindings", kinds(stg.Bindings), []string{"vars"})
	if _, ok := stg.Effective["dev"]; !ok {
		t.Error("top-only key dev not carried into staging's effective config")
	}
	if _, ok := stg.Effective["env"]; ok {
		t.Error("env block leaked into the effective config")
	}
	// Production overrides, including with empty values.
	check("production.WorkerName", prd.WorkerName, "acme-api")
	check("production.AccountID", prd.AccountID, "fedcba9876543210fedcba9876543210")
	check("production.CompatDate", prd.CompatDate, "2026-02-01")
	check("production.CompatFlags", prd.CompatFlags, []string{})
	check("production.Crons", prd.Crons, []string{})
	check("production.Routes", prd.Routes, []Route{{Pattern: "api.acme.example/*", ZoneName: "acme.example"}})
	check("production.WorkersDev (routes, unset)", prd.WorkersDev, false)
	check("production.Bindings", kinds(prd.Bindings), []string{"durable_objects", "ai"})
	check("production DO target", prd.Bindings[0].Target, "Counter")
	check("production DO pointer", prd.Bindings[0].Pointer, "/env/production/durable_objects/bindings/0")
	line, col := tn.WranglerDoc.Position(prd.Bindings[0].Pointer)
	check("production DO position", [2]int{line, col}, [2]int{26, 41}) // the "{" of the binding object
}

func kinds(bs []Binding) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Kind)
	}
	return out
}

func equal(a, b any) bool {
	switch a := a.(type) {
	case []string:
		b, _ := b.([]string)
		return a != nil && slices.Equal(a, b)
	case map[string]string:
		b, _ := b.(map[string]string)
		if len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if b[k] != v {
				return false
			}
		}
		return true
	case []Route:
		return slices.Equal(a, b.([]Route))
	}
	return a == b
}

func TestResolveMissingEnvListsDefined(t *testing.T) {
	w := `{"name":"acme-api-dev","env":{"staging":{"name":"acme-api-staging"}}}`
	ws := newWorkspace(t, map[string]map[string]string{"acme": {ConfigFile: testConfig, WranglerFile: w}})
	tn, err := Load(context.Background(), ws, "acme")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tn.Resolve(Production)
	if err == nil || !strings.Contains(err.Error(), "env.production") || !strings.Contains(err.Error(), "dev (top level), staging") {
		t.Fatalf("Resolve(production) error = %v; want it to name env.production and list dev, staging", err)
	}
}

func TestHealthURL(t *testing.T) {
	tn := loadTest(t)
	u, err := tn.HealthURL(Staging)
	if err != nil || u != "https://acme-api-dev-staging.acmesub.workers.dev/health" {
		t.Errorf("HealthURL(staging) = %q, %v", u, err)
	}
	if u, err := tn.HealthURL(Dev); err != nil || u != "http://127.0.0.1:8799/health" {
		t.Errorf("HealthURL(dev) = %q, %v", u, err)
	}
	// Production has routes and no workers_dev: there is no workers.dev URL to check.
	if _, err := tn.HealthURL(Production); err == nil {
		t.Error("HealthURL(production) with workers_dev off: want an error")
	}
}

func TestListAndCheck(t *testing.T) {
	ws := newWorkspace(t, map[string]map[string]string{
		"zeta": {}, "acme": {}, "Bad_Name": {}, ".hidden": {},
	})
	names, err := List(ws)
	if err != nil || !slices.Equal(names, []string{"acme", "zeta"}) {
		t.Fatalf("List = %v, %v", names, err)
	}
	_, invalid, _ := Scan(ws)
	if !slices.Equal(invalid, []string{"Bad_Name"}) {
		t.Errorf("Scan invalid = %v", invalid)
	}
	err = Check(ws, "nosuch")
	if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "acme, zeta") {
		t.Errorf("Check(nosuch) = %v; want ErrUnknown listing acme, zeta", err)
	}
}

// TestLoadRefusesBadNamesBeforeReading plants a readable tenant-shaped folder outside
// tenants/ and makes sure a path-like name never reaches it.
func TestLoadRefusesBadNamesBeforeReading(t *testing.T) {
	ws := newWorkspace(t, map[string]map[string]string{"acme": {ConfigFile: testConfig, WranglerFile: testWrangler}})
	outside := filepath.Join(ws.Root, "etc")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ConfigFile, WranglerFile} {
		if err := os.WriteFile(filepath.Join(outside, f), []byte(testConfig), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"../etc", "acme/../../etc", "..", "/etc"} {
		tn, err := Load(context.Background(), ws, name)
		if tn != nil || !errors.Is(err, ErrInvalidName) {
			t.Errorf("Load(%q) = %v, %v; want ErrInvalidName", name, tn, err)
		}
	}
}

func TestReadDocumentRefusals(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := append([]byte(`{"a":"`), make([]byte, jsonc.MaxFileSize)...)
	for i := 6; i < len(big); i++ {
		big[i] = 'x'
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(write("target.json", []byte(`{}`)), link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, rule string
		line, col  int
		jsonc      bool
	}{
		{write("empty.json", nil), jsonc.RuleFileEmpty, 1, 1, false},
		{write("blank.json", []byte(" \n\t\n")), jsonc.RuleFileEmpty, 1, 1, false},
		{write("nul.json", []byte("{\"a\":\n\"\x00\"}")), jsonc.RuleFileBinary, 2, 2, false},
		{write("latin1.json", []byte("{\"a\":\"caf\xe9\"}")), jsonc.RuleFileBinary, 1, 10, false},
		{write("big.json", big), jsonc.RuleFileTooLarge, 0, 0, false},
		{write("syntax.jsonc", []byte("{\n  \"a\": 1\n  \"b\": 2\n}")), jsonc.RuleSyntax, 3, 3, true},
		{write("comment.json", []byte("{\n  \"a\": 1 /* no */\n}")), jsonc.RuleNotJSON, 2, 10, false},
		{write("deep.json", []byte(strings.Repeat("[", 100)+strings.Repeat("]", 100))), jsonc.RuleTooDeep, 1, 65, false},
		{filepath.Join(dir, "absent.json"), jsonc.RuleFileMissing, 0, 0, false},
		{link, jsonc.RuleFileRead, 0, 0, false},
		{dir, jsonc.RuleFileRead, 0, 0, false},
	} {
		_, err := ReadDocument(tc.path, filepath.Base(tc.path), tc.jsonc)
		var fe *jsonc.FileError
		if !errors.As(err, &fe) {
			t.Errorf("%s: error %v is not a *jsonc.FileError", filepath.Base(tc.path), err)
			continue
		}
		if fe.Rule != tc.rule || fe.Line != tc.line || fe.Col != tc.col {
			t.Errorf("%s: got %s:%d:%d, want %s:%d:%d (%v)", filepath.Base(tc.path), fe.Rule, fe.Line, fe.Col, tc.rule, tc.line, tc.col, fe)
		}
	}
}

// Select is the one meaning of a command's "<tenant|all>": one checked name, or every tenant,
// and never an empty fleet.
func TestSelect(t *testing.T) {
	ws := newWorkspace(t, map[string]map[string]string{"zeta": {}, "acme": {}})
	if names, err := Select(ws, All); err != nil || !slices.Equal(names, []string{"acme", "zeta"}) {
		t.Errorf("Select(all) = %v, %v", names, err)
	}
	if names, err := Select(ws, "zeta"); err != nil || !slices.Equal(names, []string{"zeta"}) {
		t.Errorf("Select(zeta) = %v, %v", names, err)
	}
	if _, err := Select(ws, "nosuch"); !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), `(or use "all")`) {
		t.Errorf("Select(nosuch) = %v; want ErrUnknown and the hint", err)
	}
	if _, err := Select(ws, "../x"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Select(../x) = %v; want ErrInvalidName", err)
	}
	empty := newWorkspace(t, map[string]map[string]string{})
	if err := os.MkdirAll(empty.TenantsDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Select(empty, All); err == nil || !strings.Contains(err.Error(), "no tenants under") {
		t.Errorf("Select(all) of no tenants = %v; want an error", err)
	}
}

func TestParseCloudEnv(t *testing.T) {
	for in, want := range map[string]Env{"staging": Staging, "prod": Production, "production": Production} {
		if got, err := ParseCloudEnv(in, "; why"); err != nil || got != want {
			t.Errorf("ParseCloudEnv(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseCloudEnv("dev", "; use staging"); !errors.Is(err, ErrLocalEnv) || !strings.HasSuffix(err.Error(), "; use staging") {
		t.Errorf("ParseCloudEnv(dev) = %v; want ErrLocalEnv with the reason", err)
	}
	if _, err := ParseCloudEnv("Staging", ""); !errors.Is(err, ErrInvalidEnv) {
		t.Errorf("ParseCloudEnv(Staging) = %v; want ErrInvalidEnv", err)
	}
}
