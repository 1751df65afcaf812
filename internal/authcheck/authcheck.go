package authcheck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
)

// Target is one tenant to check.
type Target struct {
	Tenant    string
	AccountID string
	// Worker is a Worker name of the tenant, used to read the account's script list.
	Worker string
}

// Result is what was found for one tenant. It never holds the token.
type Result struct {
	Tenant   string `json:"tenant"`
	Variable string `json:"variable"`
	// Source is where the token came from: environment, .env.deploy or sandbox.
	Source  string `json:"source,omitempty"`
	Found   bool   `json:"found"`
	Valid   bool   `json:"valid"`
	Reaches bool   `json:"reaches_account"`
	// Problem says what failed and what to do, for the first check that failed.
	Problem string `json:"problem,omitempty"`
}

// OK reports whether every check passed.
func (r Result) OK() bool { return r.Found && r.Valid && r.Reaches }

// Finder returns a tenant's token and where it came from.
type Finder func(tenant, accountID string) (creds.Token, error)

// Client is the part of cfapi the checks use.
type Client interface {
	VerifyToken(ctx context.Context) (cfapi.TokenStatus, error)
	Script(ctx context.Context, script string) (cfapi.Script, error)
}

// Dial builds a Client for one account and token.
type Dial func(accountID string, token creds.Secret) (Client, error)

// Check runs the checks for every target concurrently and returns the results in target
// order. It fails only for the caller's cancellation; per-tenant failures are in the results.
func Check(ctx context.Context, targets []Target, find Finder, dial Dial) ([]Result, error) {
	out := make([]Result, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = checkOne(ctx, t, find, dial)
		}()
	}
	wg.Wait()
	return out, ctx.Err()
}

func checkOne(ctx context.Context, t Target, find Finder, dial Dial) Result {
	r := Result{Tenant: t.Tenant, Variable: creds.VarName(t.Tenant)}
	tok, err := find(t.Tenant, t.AccountID)
	if err != nil {
		r.Problem = scrubbed(err.Error(), tok.Value)
		return r
	}
	r.Found, r.Source, r.Variable = true, string(tok.Source), tok.Var
	defer func() { r.Problem = scrubbed(r.Problem, tok.Value) }()
	c, err := dial(t.AccountID, tok.Value)
	if err != nil {
		r.Problem = err.Error()
		return r
	}
	st, err := c.VerifyToken(ctx)
	switch {
	case errors.Is(err, cfapi.ErrForeignAccount):
		r.Valid = true
		r.Problem = fmt.Sprintf("the token in %s is valid but cannot read account %s: it belongs to another account; create it in account %s with Workers Scripts permission", r.Variable, t.AccountID, t.AccountID)
		return r
	case err != nil:
		r.Problem = fmt.Sprintf("Cloudflare refused the token in %s: %v; create a new token (see docs/deployment/multi-account-auth.md) and update %s", r.Variable, err, r.Variable)
		return r
	case st.Status != "" && st.Status != "active":
		r.Problem = fmt.Sprintf("the token in %s is %s, not active; rotate it (docs/deployment/multi-account-auth.md)", r.Variable, st.Status)
		return r
	}
	r.Valid = true
	_, err = c.Script(ctx, t.Worker)
	if err != nil && !errors.Is(err, cfapi.ErrNotFound) {
		// ErrNotFound means the list was read and the Worker is not deployed yet: the account
		// is reached. Anything else (403, 10000, 9109) means the token is for another account
		// or lacks Workers Scripts permission.
		r.Problem = fmt.Sprintf("the token in %s is valid but cannot read account %s: %v; it must be created in that account with Workers Scripts permission", r.Variable, t.AccountID, err)
		return r
	}
	r.Reaches = true
	return r
}

// scrubbed removes the token from a message: error texts from transports can quote requests.
func scrubbed(msg string, tok creds.Secret) string {
	if v := tok.Reveal(); len(v) >= 4 {
		return strings.ReplaceAll(msg, v, "[REDACTED]")
	}
	return msg
}

// Table renders the results for a person or a step summary.
func Table(results []Result) report.Table {
	t := report.Table{Title: "auth:check", Columns: []string{"tenant", "variable", "source", "found", "valid", "reaches account", "problem"}}
	mark := func(ok, reached bool) report.Cell {
		switch {
		case !reached:
			return report.Cell{Text: "-", Tone: report.Calm}
		case ok:
			return report.Cell{Text: "ok", Tone: report.Good}
		}
		return report.Cell{Text: "FAIL", Tone: report.Bad}
	}
	for _, r := range results {
		t.AddRow(report.Cell{Text: r.Tenant}, report.Cell{Text: r.Variable}, report.Cell{Text: r.Source},
			mark(r.Found, true), mark(r.Valid, r.Found), mark(r.Reaches, r.Valid),
			report.Cell{Text: r.Problem, Tone: report.Bad})
	}
	return t
}

// Failed counts the results that did not pass.
func Failed(results []Result) int {
	n := 0
	for _, r := range results {
		if !r.OK() {
			n++
		}
	}
	return n
}
