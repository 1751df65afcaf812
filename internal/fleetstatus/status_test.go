package fleetstatus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/drift"
	"github.com/rainbowsmoke/crispy-enigma/internal/fleetstatus"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
)

// One world, one state per tenant: in sync with records, drifted mid-rollout, unhealthy, and
// unreadable; each row must say so, with the records' who and when.
func TestCollectShowsEachTenantsState(t *testing.T) {
	ctx := context.Background()
	w := testworld.NewWithWrangler(t, testworld.Options{Generate: 5})
	inputs, err := w.World.Seed(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	live := func(name string) string {
		d, err := w.API(name).LiveDeployment(ctx, name+"-api-staging")
		if err != nil {
			t.Fatal(err)
		}
		return d.Primary().VersionID
	}
	ok, drifted, sick, broken, secret := "gen-001", "gen-002", "gen-003", "gen-004", "gen-005"

	// ok: a failed attempt, then the deploy of what is live.
	store := history.Open(w.WS.DeploymentsDir())
	v1 := live(ok)
	start := time.Now().Add(-time.Hour).UTC()
	for _, r := range []history.Record{
		{Kind: history.KindDeploy, Tenant: ok, Env: "staging", Status: history.StatusFailed, Error: "upload: boom", Actor: "bob", StartedAt: start, FinishedAt: start.Add(time.Minute)},
		{Kind: history.KindDeploy, Tenant: ok, Env: "staging", Status: history.StatusSucceeded, VersionID: v1, Actor: "alice <a@x>", StartedAt: start.Add(2 * time.Minute), FinishedAt: start.Add(3 * time.Minute)},
	} {
		if _, err := store.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	// drifted: a var changed in the dashboard, then traffic split between the two versions.
	old := live(drifted)
	acct := w.Tenant(drifted).AccountID
	if err := w.Sandbox.Mutate(sandbox.Mutation{AccountID: acct, Script: drifted + "-api-staging", Op: "set_var", Name: "EXTRA", Value: "1"}); err != nil {
		t.Fatal(err)
	}
	split(t, w, drifted, live(drifted), old)
	// secret: deployed by carol, then a secret put made (and deployed) a new version from it.
	if _, err := store.Write(history.Record{Kind: history.KindDeploy, Tenant: secret, Env: "staging", Status: history.StatusSucceeded,
		VersionID: live(secret), Actor: "carol", StartedAt: start, FinishedAt: start.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sandbox.Mutate(sandbox.Mutation{AccountID: w.Tenant(secret).AccountID, Script: secret + "-api-staging", Op: "set_secret", Name: "ROTATED", Value: "s3cret-value"}); err != nil {
		t.Fatal(err)
	}
	// unhealthy: the live version answers 500.
	w.Sandbox.MarkUnhealthy(live(sick))

	o := w.World.StatusOptions(inputs)
	prepare := o.Prepare
	o.Prepare = func(ctx context.Context, t string, env tenant.Env) (drift.Input, error) {
		if t == broken {
			return drift.Input{}, errors.New("token CLOUDFLARE_API_TOKEN_GEN_004 is not set")
		}
		return prepare(ctx, t, env)
	}
	before := w.Sandbox.RequestCount(w.Tenant(ok).Token)
	rows := fleetstatus.Collect(ctx, o)
	spent := w.Sandbox.RequestCount(w.Tenant(ok).Token) - before

	if len(rows) != 5 {
		t.Fatalf("%d rows", len(rows))
	}
	byName := map[string]fleetstatus.Row{}
	for _, r := range rows {
		byName[r.Tenant] = r
	}
	r := byName[ok]
	if r.State != fleetstatus.StateOK || len(r.Versions) != 1 || r.Versions[0].VersionID != v1 || r.Health == nil || !r.Health.OK {
		t.Errorf("ok row: %+v health %+v", r, r.Health)
	}
	if r.Deployed == nil || r.Deployed.Actor != "alice <a@x>" || r.LastFailure == nil || r.LastFailure.Error != "upload: boom" || r.Records != 2 {
		t.Errorf("ok row records: deployed %+v failure %+v", r.Deployed, r.LastFailure)
	}
	if spent > drift.RequestsPerTenant {
		t.Errorf("one tenant cost %d API requests, want at most %d", spent, drift.RequestsPerTenant)
	}
	r = byName[drifted]
	if r.State != fleetstatus.StateDrifted || r.DriftChanges == 0 || len(r.Versions) != 2 || r.Deployed != nil {
		t.Errorf("drifted row: %+v", r)
	}
	if got := fleetstatus.Versions(r.Versions); !strings.Contains(got, "50% + ") {
		t.Errorf("split shown as %q", got)
	}
	r = byName[sick]
	if r.State != fleetstatus.StateUnhealthy || r.Health == nil || r.Health.OK || r.Health.StatusCode == 200 {
		t.Errorf("unhealthy row: %+v health %+v", r, r.Health)
	}
	r = byName[broken]
	if r.State != fleetstatus.StateError || !strings.Contains(r.Error, "not set") || r.Health != nil {
		t.Errorf("broken row: %+v", r)
	}
	r = byName[secret]
	if r.State != fleetstatus.StateOK || r.Deployed == nil || r.Deployed.Actor != "carol" || r.DeployedNote != "then a secret change" {
		t.Errorf("secret row: %+v deployed %+v", r, r.Deployed)
	}
	if c := fleetstatus.ExitCode(rows); c != fleetstatus.ExitError {
		t.Errorf("exit %d, want 1", c)
	}

	var text bytes.Buffer
	if err := fleetstatus.WriteText(&text, w.WS.Root, rows, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"alice <a@x>", "drifted", "unhealthy", "failed deployments/gen-001-staging-", "gen-004/staging: "} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if b, err := json.Marshal(rows); err != nil || strings.Contains(string(b), w.Tenant(ok).Token) || strings.Contains(string(b), "s3cret-value") {
		t.Errorf("json: %v (or a token in it)", err)
	}
}

// split deploys a and b at 50% each through the API, as `wrangler versions deploy` would.
func split(t *testing.T, w *testworld.World, name, a, b string) {
	t.Helper()
	tn := w.Tenant(name)
	body, _ := json.Marshal(map[string]any{"strategy": "percentage", "versions": []map[string]any{
		{"version_id": a, "percentage": 50}, {"version_id": b, "percentage": 50}}})
	req, _ := http.NewRequest(http.MethodPost, w.APIBaseURL+"/accounts/"+tn.AccountID+"/workers/scripts/"+name+"-api-staging/deployments", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tn.Token)
	req.Header.Set("Content-Type", "application/json")
	res, err := w.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("split: HTTP %d", res.StatusCode)
	}
}

func TestEnvs(t *testing.T) {
	if e, err := fleetstatus.Envs("all"); err != nil || len(e) != 2 {
		t.Errorf("all: %v %v", e, err)
	}
	if e, err := fleetstatus.Envs("prod"); err != nil || e[0] != "production" {
		t.Errorf("prod: %v %v", e, err)
	}
	for _, bad := range []string{"dev", "qa", ""} {
		if _, err := fleetstatus.Envs(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// A damaged record makes a row need attention (exit 2) even when everything live is fine; a
// row that could not be read still wins (exit 1).
func TestExitCodeCountsSkippedRecords(t *testing.T) {
	ok := fleetstatus.Row{State: fleetstatus.StateOK}
	damaged := fleetstatus.Row{State: fleetstatus.StateOK, SkippedRecords: []history.Damaged{{File: "a-staging-x.json"}}}
	for _, tc := range []struct {
		rows []fleetstatus.Row
		want int
	}{
		{[]fleetstatus.Row{ok, ok}, fleetstatus.ExitOK},
		{[]fleetstatus.Row{ok, damaged}, fleetstatus.ExitAttention},
		{[]fleetstatus.Row{damaged, {State: fleetstatus.StateError}}, fleetstatus.ExitError},
	} {
		if got := fleetstatus.ExitCode(tc.rows); got != tc.want {
			t.Errorf("ExitCode(%+v) = %d, want %d", tc.rows, got, tc.want)
		}
	}
}
