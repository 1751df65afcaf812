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

	"github.com/rainbowsmoke/crispy-enigma/internal/fleetstatus"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/htmlreport"
	"github.com/rainbowsmoke/crispy-enigma/internal/metrics"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
)

// One damaged record (a truncated file, as a full disk or a bad merge leaves it) in a copied
// repo: fleet:status, history:stats and report:html, through the functions their targets
// call, still answer from the other records, name the file with the fix, and leave it out;
// fleet:status exits 2; history:verify still fails naming it.
func TestReadersDegradeAroundADamagedRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("runs wrangler (drift builds each bundle)")
	}
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo)
	ws := testrepo.Copy(t, repo, testrepo.Options{})
	testworld.StartSandbox(t, ws)
	ws.Records = sandboxctl.PathsFor(ws).Records // as the targets' setup does while a sandbox runs
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	a, b := "mrrainbowsmoke", "rainbowsmokeofficial"

	st := history.Open(ws.DeploymentsDir())
	start := time.Now().Add(-3 * time.Hour).UTC()
	var written []history.Entry
	for i, r := range []history.Record{
		{Tenant: a, Status: history.StatusSucceeded, VersionID: "v-a1"},
		{Tenant: a, Status: history.StatusRolledBack, VersionID: "v-a2", Error: "health: 503"},
		{Tenant: b, Status: history.StatusSucceeded, VersionID: "v-b1"},
	} {
		r.Kind, r.Env, r.Actor = history.KindDeploy, "staging", "ci"
		r.StartedAt = start.Add(time.Duration(i) * time.Minute)
		r.FinishedAt = r.StartedAt.Add(30 * time.Second)
		e, err := st.Write(r)
		if err != nil {
			t.Fatal(err)
		}
		written = append(written, e)
	}
	bad := written[1].Path // a's failed deploy
	body, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, body[:len(body)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Base(bad)
	named := func(what, s string) {
		t.Helper()
		for _, want := range []string{file, "history:verify"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s lacks %q:\n%s", what, want, s)
			}
		}
	}

	// fleet:status staging: answers for both tenants, a's row without the damaged record.
	var errb bytes.Buffer
	rows, err := fleetstatus.Command(ctx, ws, log, "staging", &errb)
	if err != nil {
		t.Fatalf("fleet:status: %v\n%s", err, errb.String())
	}
	named("fleet:status stderr", errb.String())
	if len(rows) != 2 || rows[0].Tenant != a || rows[1].Tenant != b {
		t.Fatalf("rows %+v", rows)
	}
	ra := rows[0]
	if ra.Records != 1 || ra.LastFailure != nil || len(ra.SkippedRecords) != 1 || ra.SkippedRecords[0].File != file ||
		!strings.Contains(ra.SkippedRecords[0].Reason, "not valid JSON") {
		t.Errorf("%s row: records %d, last failure %+v, skipped %+v", a, ra.Records, ra.LastFailure, ra.SkippedRecords)
	}
	if rows[1].Records != 1 || len(rows[1].SkippedRecords) != 0 {
		t.Errorf("%s row: %+v", b, rows[1])
	}
	if c := fleetstatus.ExitCode(rows); c != fleetstatus.ExitAttention {
		t.Errorf("fleet:status exit %d, want %d", c, fleetstatus.ExitAttention)
	}
	var out bytes.Buffer
	if err := report.JSON(&out, rows); err != nil {
		t.Fatal(err)
	}
	var doc []map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || len(doc) != 2 {
		t.Fatalf("fleet:status -json: %v\n%s", err, out.String())
	}
	if sk, _ := doc[0]["skipped_records"].([]any); len(sk) != 1 || sk[0].(map[string]any)["file"] != file {
		t.Errorf("fleet:status -json skipped_records = %v", doc[0]["skipped_records"])
	}
	out.Reset()
	if err := fleetstatus.WriteText(&out, ws.Root, rows, false); err != nil {
		t.Fatal(err)
	}
	named("fleet:status table", out.String())

	// history:stats all staging: the good records' metrics, saying what they exclude.
	out.Reset()
	errb.Reset()
	res, err := metrics.Run(ctx, &out, metrics.Request{Env: "staging", Since: "1d", Dir: ws.DeploymentsDir(), Root: ws.Root, JSON: true, Stderr: &errb})
	if err != nil {
		t.Fatalf("history:stats: %v", err)
	}
	named("history:stats stderr", errb.String())
	var stats struct {
		Tenants []metrics.Stats   `json:"tenants"`
		Skipped []history.Damaged `json:"skipped_records"`
	}
	if err := json.Unmarshal(out.Bytes(), &stats); err != nil {
		t.Fatal(err)
	}
	if len(stats.Skipped) != 1 || stats.Skipped[0].File != file || len(stats.Tenants) != 2 || stats.Tenants[0].Attempts != 1 || len(res.Fleet) != 1 || res.Fleet[0].Attempts != 2 {
		t.Errorf("history:stats -json: %s", out.String())
	}
	out.Reset()
	if _, err := metrics.Run(ctx, &out, metrics.Request{Tenant: tenant.Name(a), Since: "1d", Dir: ws.DeploymentsDir(), Root: ws.Root}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "exclude 1 damaged record(s): "+file) {
		t.Errorf("history:stats table does not say what it excludes:\n%s", out.String())
	}
	out.Reset()
	if res, err := metrics.Run(ctx, &out, metrics.Request{Tenant: tenant.Name(b), Env: "staging", Since: "1d", Dir: ws.DeploymentsDir(), Root: ws.Root}); err != nil ||
		len(res.Skipped) != 0 || strings.Contains(out.String(), "exclude") {
		t.Errorf("history:stats of %s blames %s's damaged record: %v\n%s", b, a, err, out.String())
	}

	// report:html (live): written, with a notice naming the file; a's list without it.
	html := filepath.Join(t.TempDir(), "fleet.html")
	errb.Reset()
	if _, err := htmlreport.Command(ctx, ws, log, htmlreport.Request{Out: html, Since: "1d"}, &errb); err != nil {
		t.Fatalf("report:html: %v\n%s", err, errb.String())
	}
	named("report:html stderr", errb.String())
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="skipped-records"`, "1 damaged record(s) left out of this report", file, a + "/staging: 1 record(s)", "v-a1", "v-b1"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(string(page), "v-a2") {
		t.Error("the report shows the damaged record's contents")
	}

	// history:verify stays strict.
	out.Reset()
	if err := history.CheckAll(ctx, &out, ws.Root, ws.DeploymentsDir()); err == nil || !strings.Contains(out.String(), file) {
		t.Errorf("history:verify: %v\n%s", err, out.String())
	}
}
