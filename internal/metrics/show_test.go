package metrics

import (
	"bytes"
	"context"
	"encoding/json"
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
	res, err := Run(context.Background(), &out, Request{Target: "all", Env: "staging", Since: "30d", Now: now, Dir: dir, Root: dir, JSON: true})
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
	if _, err := Run(context.Background(), &out, Request{Target: "a", Env: "all", Since: "30d", Now: now, Dir: dir, Root: dir}); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "(fleet)") || strings.Contains(s, "b ") || !strings.Contains(s, "50.0% (1/2)") {
		t.Fatalf("table:\n%s", s)
	}
	for _, bad := range []Request{{Target: "../x", Env: "all", Since: "30d"}, {Target: "a", Env: "qa", Since: "30d"}, {Target: "a", Env: "all", Since: "soon"}} {
		bad.Dir, bad.Now = dir, now
		if _, err := Run(context.Background(), &out, bad); err == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
}
