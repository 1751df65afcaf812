package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
)

func TestRunReadsTheStoreFiltersAndPrints(t *testing.T) {
	dir := t.TempDir()
	st := history.Open(dir)
	for _, r := range []history.Record{
		dep("a", "staging", history.StatusSucceeded, "", at(1, 10, 0), time.Minute),
		dep("a", "staging", history.StatusRolledBack, "", at(2, 10, 0), time.Minute),
		dep("b", "staging", history.StatusSucceeded, "", at(2, 10, 0), time.Minute),
		dep("b", "production", history.StatusSucceeded, "", at(2, 10, 0), time.Minute),
	} {
		if _, err := st.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	now := at(30, 0, 0)
	var out bytes.Buffer
	res, err := Run(context.Background(), &out, Request{Env: "staging", Since: "30d", Now: now, Dir: dir, Root: dir, JSON: true})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if len(res.Groups) != 2 || len(res.Fleet) != 1 || res.Fleet[0].Attempts != 3 || *res.Fleet[0].ChangeFailure.Rate != 0.3333 {
		t.Fatalf("result %+v", res)
	}
	out.Reset()
	if _, err := Run(context.Background(), &out, Request{Tenant: "a", Since: "30d", Now: now, Dir: dir, Root: dir}); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "(fleet)") || strings.Contains(s, "b ") || !strings.Contains(s, "50.0% (1/2)") {
		t.Fatalf("table:\n%s", s)
	}
	// A bad tenant or env never reaches Run: the target parses them (internal/menu's test
	// runs history:stats with both). The window is Run's to parse.
	bad := Request{Tenant: "a", Since: "soon", Dir: dir, Now: now}
	if _, err := Run(context.Background(), &out, bad); err == nil {
		t.Errorf("%+v: want an error", bad)
	}
}

// A damaged record does not stop the metrics: they are of the good records, the result lists
// it, the table says it is excluded and stderr warns with the fix.
func TestRunExcludesADamagedRecord(t *testing.T) {
	dir := t.TempDir()
	st := history.Open(dir)
	var bad string
	for i, r := range []history.Record{
		dep("a", "staging", history.StatusSucceeded, "", at(1, 10, 0), time.Minute),
		dep("a", "staging", history.StatusRolledBack, "", at(2, 10, 0), time.Minute),
	} {
		e, err := st.Write(r)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			bad = e.Path
		}
	}
	if err := os.WriteFile(bad, []byte("<<<<<<< HEAD\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	res, err := Run(context.Background(), &out, Request{Tenant: "a", Env: "staging", Since: "30d", Now: at(30, 0, 0), Dir: dir, Root: dir, Stderr: &errb})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Base(bad)
	if len(res.Groups) != 1 || res.Groups[0].Attempts != 1 || len(res.Skipped) != 1 || res.Skipped[0].File != file {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(out.String(), "exclude 1 damaged record(s): "+file) || !strings.Contains(errb.String(), file) || !strings.Contains(errb.String(), "history:verify") {
		t.Errorf("table:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
	out.Reset()
	if _, err := Run(context.Background(), &out, Request{Since: "30d", Now: at(30, 0, 0), Dir: dir, Root: dir, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Skipped []map[string]any `json:"skipped_records"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || len(doc.Skipped) != 1 || doc.Skipped[0]["file"] != file || doc.Skipped[0]["reason"] == "" {
		t.Errorf("JSON skipped_records: %v\n%s", err, out.String())
	}
}
