package cfcontract_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfcontract"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
)

// The table has one row per route the sandbox serves, no more, no fewer; a row without a
// cloudflare-go type names where its shape came from.
func TestTableCoversEveryRoute(t *testing.T) {
	srv, err := sandbox.New(sandbox.Options{Accounts: []sandbox.Account{{ID: strings.Repeat("a", 32), Subdomain: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	served := srv.Routes()
	var table []string
	typed, answerFields, requestFields := 0, 0, 0
	for _, r := range cfcontract.Routes {
		table = append(table, r.Pattern)
		if r.Request != nil {
			requestFields += len(cfcontract.RequiredFields(r.Request))
		}
		if r.Typed() {
			typed++
			answerFields += len(cfcontract.RequiredFields(r.Answer))
		} else if r.Source == "" {
			t.Errorf("%s: no cloudflare-go type and no source for its shape", r.Pattern)
		}
		if !slices.Contains(served, r.Pattern) {
			t.Errorf("%s: in the table but the sandbox does not serve it", r.Pattern)
		}
	}
	for _, p := range served {
		if !slices.Contains(table, p) {
			t.Errorf("%s: the sandbox serves it but the contract table (table.go) has no row", p)
		}
	}
	t.Logf("%d routes, %d judged by a cloudflare-go type; %d required fields in their answers' types, %d in their requests'",
		len(served), typed, answerFields, requestFields)
}

// The checker finds what it is for, naming route and field: a missing required field, a
// field of the wrong JSON type, a null where none is allowed, a departure only where listed,
// a request body without a required field, and a broken envelope.
func TestCheckFindsBreaches(t *testing.T) {
	const deps = "GET /accounts/{account}/workers/scripts/{script}/deployments"
	const post = "POST /accounts/{account}/workers/scripts/{script}/deployments"
	const sub = "GET /accounts/{account}/workers/scripts/{script}/subdomain"
	env := func(result string) []byte {
		return []byte(`{"success":true,"errors":[],"messages":[],"result":` + result + `}`)
	}
	dep := `{"id":"d","created_on":"2026-01-01T00:00:00Z","source":"api","strategy":"percentage","versions":[{"version_id":"v","percentage":100}]}`
	cases := []struct {
		name  string
		ex    cfcontract.Exchange
		field string // "" = no problem expected
		what  string
	}{
		{"conforming", cfcontract.Exchange{Pattern: deps, Status: 200, Response: env(`{"deployments":[` + dep + `]}`)}, "", ""},
		{"missing nested", cfcontract.Exchange{Pattern: deps, Status: 200, Response: env(`{"deployments":[{"id":"d","created_on":"2026-01-01T00:00:00Z","source":"api","strategy":"percentage","versions":[{"version_id":"v"}]}]}`)},
			"result.deployments[].versions[].percentage", "missing"},
		{"wrong type", cfcontract.Exchange{Pattern: deps, Status: 200, Response: env(strings.Replace(`{"deployments":[`+dep+`]}`, `100`, `"100"`, 1))},
			"result.deployments[].versions[].percentage", "want a number"},
		{"not a time", cfcontract.Exchange{Pattern: deps, Status: 200, Response: env(strings.Replace(`{"deployments":[`+dep+`]}`, `2026-01-01T00:00:00Z`, `yesterday`, 1))},
			"result.deployments[].created_on", "RFC 3339"},
		{"null", cfcontract.Exchange{Pattern: sub, Status: 200, Response: env(`{"enabled":null,"previews_enabled":true}`)}, "result.enabled", "null"},
		{"departure accepted", cfcontract.Exchange{Pattern: post, Status: 200, Response: env(`{"id":"d"}`)}, "", ""},
		{"departure only where listed", cfcontract.Exchange{Pattern: deps, Status: 200, Response: env(`{"deployments":[{"id":"d"}]}`)}, "result.deployments[].created_on", "missing"},
		{"request", cfcontract.Exchange{Pattern: post, Status: 200, RequestType: "application/json", Request: []byte(`{"versions":[{"version_id":"v","percentage":100}]}`), Response: env(`{"id":"d"}`)}, "strategy", "missing"},
		{"envelope", cfcontract.Exchange{Pattern: deps, Status: 404, Response: []byte(`{"success":false,"errors":[{"code":10007}],"messages":[],"result":null}`)}, "errors[].message", "missing"},
		{"unknown route", cfcontract.Exchange{Pattern: "GET /nowhere", Status: 200, Response: env(`{}`)}, "", "not in the contract table"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			probs := cfcontract.Check(c.ex, nil)
			if c.what == "" {
				if len(probs) > 0 {
					t.Fatalf("want no problem, got %v", probs)
				}
				return
			}
			for _, p := range probs {
				if p.Field == c.field && strings.Contains(p.What, c.what) && p.Route == c.ex.Pattern {
					return
				}
			}
			t.Fatalf("want a problem at %q (%s), got %v", c.field, c.what, probs)
		})
	}
}
