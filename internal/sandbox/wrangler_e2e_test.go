package sandbox

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
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
