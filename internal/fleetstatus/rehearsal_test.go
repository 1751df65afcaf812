package fleetstatus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/browser"
	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/fleetstatus"
	"github.com/rainbowsmoke/crispy-enigma/internal/htmlreport"
	"github.com/rainbowsmoke/crispy-enigma/internal/metrics"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/rollback"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
)

// The acceptance rehearsal, through the same Command functions the mage targets call,
// with the real wrangler against a sandbox registered as the checkout's running one: a few
// deploys, a rollback and a drifted tenant; then fleet:status staging, history:stats -json and
// report:html in headless Chromium must each tell that story.
func TestRehearsalStatusStatsAndReport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs wrangler")
	}
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo)
	ws := testrepo.Copy(t, repo, testrepo.Options{Code: false, Git: true})
	sb := testworld.StartSandbox(t, ws)
	ws.Records = sandboxctl.PathsFor(ws).Records // as the targets' setup does while a sandbox runs
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	a, b := "mrrainbowsmoke", "rainbowsmokeofficial"

	dep := func(name string) {
		t.Helper()
		var errb bytes.Buffer
		if _, err := deploy.Command(ctx, ws, log, tenant.Name(name), tenant.Staging, deploy.Flags{Force: true}, &errb); err != nil {
			t.Fatalf("deploy %s: %v\n%s", name, err, errb.String())
		}
	}
	mutate := func(name, op, key string) {
		t.Helper()
		tn, err := tenant.Load(ctx, ws, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := sb.Server.Mutate(sandbox.Mutation{AccountID: tn.Config.AccountID, Script: name + "-api-staging", Op: op, Name: key, Value: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	secrets := func(name string) {
		t.Helper()
		tn, err := tenant.Load(ctx, ws, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range tn.Config.RequiredSecrets {
			mutate(name, "set_secret", s)
		}
	}

	dep(a)
	dep(b)
	secrets(a)
	secrets(b)
	dep(a) // a second deploy of a …
	if _, err := rollback.Command(ctx, ws, log, tenant.Name(a), tenant.Staging, rollback.Options{Reason: "rehearsal", Force: true}); err != nil {
		// -force: the secrets were first set after the target version, as the runbook allows.
		t.Fatalf("rollback: %v", err) // … that is rolled back: a failed change
	}
	mutate(b, "set_var", "EDITED_IN_DASHBOARD") // b drifts

	// fleet:status staging -json=true
	var out, errb bytes.Buffer
	got, err := fleetstatus.Command(ctx, ws, log, "staging", &errb)
	if err != nil {
		t.Fatalf("fleet:status: %v\n%s", err, errb.String())
	}
	if err := report.JSON(&out, got); err != nil {
		t.Fatal(err)
	}
	code := fleetstatus.ExitCode(got)
	var rows []fleetstatus.Row
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("fleet:status -json: %v\n%s", err, out.String())
	}
	if code != fleetstatus.ExitAttention || len(rows) != 2 {
		t.Fatalf("exit %d, rows %+v", code, rows)
	}
	ra, rb := rows[0], rows[1]
	if ra.Tenant != a || ra.State != fleetstatus.StateOK || ra.Deployed == nil || ra.Deployed.Kind != "rollback" || ra.Health == nil || !ra.Health.OK {
		t.Errorf("%s: %+v deployed %+v", a, ra, ra.Deployed)
	}
	if rb.Tenant != b || rb.State != fleetstatus.StateDrifted || rb.DriftChanges == 0 || rb.Deployed != nil {
		t.Errorf("%s: %+v", b, rb)
	}

	// history:stats all staging -json=true
	out.Reset()
	if _, err := metrics.Run(ctx, &out, metrics.Request{Env: "staging", Since: "1d", Dir: ws.DeploymentsDir(), Root: ws.Root, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var res metrics.Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Groups) != 2 || len(res.Fleet) != 1 {
		t.Fatalf("stats: %s", out.String())
	}
	ga, gb, f := res.Groups[0], res.Groups[1], res.Fleet[0]
	if ga.Attempts != 2 || ga.Succeeded != 2 || ga.Rollbacks != 1 || ga.ChangeFailure.Failed != 1 || *ga.ChangeFailure.Rate != 0.5 || ga.Restore.Incidents != 1 {
		t.Errorf("%s stats: %+v", a, ga)
	}
	if gb.Attempts != 1 || gb.ChangeFailure.Failed != 0 || *gb.SuccessRate != 1 {
		t.Errorf("%s stats: %+v", b, gb)
	}
	if f.Attempts != 3 || *f.ChangeFailure.Rate != 0.3333 || f.LeadTime.Changes == 0 || f.LeadTime.UnknownDeploys != 0 {
		t.Errorf("fleet stats: %+v lead %+v", f, f.LeadTime)
	}

	// report:html, in Chromium
	file := filepath.Join(t.TempDir(), "fleet.html")
	if _, err := htmlreport.Command(ctx, ws, log, htmlreport.Request{Out: file, Since: "1d", Now: time.Now()}, &errb); err != nil {
		t.Fatal(err)
	}
	c := browser.Chromium{Timeout: 90 * time.Second}
	c.Need(t)
	dom, _, err := c.DumpDOM(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`data-tenant="` + a + `"`, `data-tenant="` + b + `"`, ra.Versions[0].VersionID, rb.Versions[0].VersionID, "drifted", "33.3% (1 of 3)"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the report's DOM lacks %q", want)
		}
	}
	if t.Failed() {
		_ = os.WriteFile(filepath.Join(os.TempDir(), "rehearsal-report.html"), []byte(dom), 0o644)
	}
}
