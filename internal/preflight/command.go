package preflight

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// DefaultParallel is how many tenants are checked at once: each has its own token and
// budget and a check is a handful of small reads, so this only bounds open connections.
const DefaultParallel = 16

// Access is how a run reaches Cloudflare: the API, the HTTP client and where tokens come
// from (creds.For decides which token).
type Access struct {
	Workspace  workspace.Workspace
	APIBaseURL string
	HTTPClient *http.Client
	Lookup     creds.Lookup
	Sandbox    creds.SandboxTokens
	// Budget and RateLimitWait pass through to cfapi (zero: its defaults).
	Budget        cfapi.Budget
	RateLimitWait time.Duration
	Log           *slog.Logger
}

// Client is the API client of one tenant's account, with the token creds.For picks.
func (a Access) Client(tenantName, accountID string) (*cfapi.Client, error) {
	tok, err := creds.For(tenantName, accountID, a.Workspace.Root, a.Lookup, a.Sandbox)
	if err != nil {
		return nil, err
	}
	return cfapi.New(cfapi.Config{
		BaseURL: a.APIBaseURL, Token: tok.Value.Reveal(), AccountID: accountID,
		HTTPClient: a.HTTPClient, MaxRetries: 2, Timeout: 30 * time.Second,
		Budget: a.Budget, RateLimitWait: a.RateLimitWait, Log: a.Log,
	})
}

// Dial is the Dial of a.
func (a Access) Dial() Dial {
	return func(_ context.Context, t Target) (API, error) {
		return a.Client(t.Tenant, t.Resolved.AccountID)
	}
}

// AccessFor picks the API for a run from ws (the running sandbox, CLOUDFLARE_API_BASE_URL or
// Cloudflare) and writes its banner to banner.
func AccessFor(ctx context.Context, ws workspace.Workspace, log *slog.Logger, banner io.Writer) (Access, error) {
	ep, err := sandboxctl.Resolve(ctx, ws, log)
	if err != nil {
		return Access{}, err
	}
	ep.PrintBanner(banner)
	return Access{Workspace: ws, APIBaseURL: ep.APIBaseURL, HTTPClient: ep.HTTPClient, Sandbox: ep.SandboxTokens(), Log: log}, nil
}

// TargetFor loads a tenant and resolves env into a Target.
func TargetFor(ctx context.Context, ws workspace.Workspace, name string, env tenant.Env) (Target, error) {
	t, err := tenant.Load(ctx, ws, name)
	if err != nil {
		return Target{}, err
	}
	r, err := t.Resolve(env)
	if err != nil {
		return Target{}, err
	}
	return Target{Tenant: name, Resolved: r, RequiredSecrets: t.Config.RequiredSecrets}, nil
}

// Tenants checks every named tenant in env concurrently. A tenant whose files do not load
// gets a report with Error set; the others are checked all the same.
func Tenants(ctx context.Context, a Access, names []string, env tenant.Env, parallel int) ([]Report, error) {
	targets := make([]Target, 0, len(names))
	var broken []Report
	idx := map[string]int{}
	for _, n := range names {
		t, err := TargetFor(ctx, a.Workspace, n, env)
		if err != nil {
			broken = append(broken, Report{Tenant: n, Env: string(env), Error: err.Error() + fmt.Sprintf(" (run `go tool mage validate %s`)", n)})
			continue
		}
		idx[n] = len(targets)
		targets = append(targets, t)
	}
	reps, err := RunAll(ctx, targets, a.Dial(), parallel)
	out := make([]Report, 0, len(names))
	bi := 0
	for _, n := range names {
		if i, ok := idx[n]; ok {
			out = append(out, reps[i])
		} else {
			out = append(out, broken[bi])
			bi++
		}
	}
	return out, err
}

// CommandOptions is one `preflight <tenant|all> <env>` request: Target a tenant name or
// "all", for tenant.Select; Env parsed by the caller (dev is refused here).
type CommandOptions struct {
	Target string
	Env    tenant.Env
	// Stderr gets the sandbox banner.
	Stderr io.Writer
}

// Command is `mage preflight`: it picks the API (sandbox, CLOUDFLARE_API_BASE_URL or
// Cloudflare), checks the tenants and returns one report each; the caller renders them
// (WriteText or JSON) and fails unless AllReady. err is a refused request or a run that
// could not finish.
func Command(ctx context.Context, ws workspace.Workspace, log *slog.Logger, o CommandOptions) ([]Report, error) {
	env := o.Env
	if err := env.RequireCloud(" and uses no Cloudflare account; use staging or production"); err != nil {
		return nil, fmt.Errorf("preflight: %w", err)
	}
	names, err := tenant.Select(ws, o.Target)
	if err != nil {
		return nil, fmt.Errorf("preflight: %w", err)
	}
	a, err := AccessFor(ctx, ws, log, o.Stderr)
	if err != nil {
		return nil, fmt.Errorf("preflight %s: %w", env, err)
	}
	reports, err := Tenants(ctx, a, names, env, DefaultParallel)
	if err != nil {
		return reports, fmt.Errorf("preflight %s: %w", env, err)
	}
	return reports, nil
}

// AllReady reports whether every tenant is ready.
func AllReady(reports []Report) bool {
	for _, r := range reports {
		if !r.Ready() {
			return false
		}
	}
	return true
}

// WriteText prints one line per check per tenant: tenant/env, check, status, what was found
// and, for a problem or a warning, the fix.
func WriteText(w io.Writer, reports []Report, colour bool) error {
	t := report.Table{Title: "preflight", Columns: []string{"tenant", "check", "status", "detail", "fix"}}
	tone := map[Status]report.Tone{OK: report.Good, Warn: report.Warn, Problem: report.Bad}
	for _, r := range reports {
		who := r.Tenant + "/" + r.Env
		if r.Error != "" {
			t.AddRow(report.Cell{Text: who}, report.Cell{Text: "load"}, report.Cell{Text: string(Problem), Tone: report.Bad},
				report.Cell{Text: r.Error}, report.Cell{})
			continue
		}
		for _, c := range r.Checks {
			t.AddRow(report.Cell{Text: who}, report.Cell{Text: c.Name}, report.Cell{Text: string(c.Status), Tone: tone[c.Status]},
				report.Cell{Text: c.Detail}, report.Cell{Text: c.Fix})
		}
	}
	if err := t.Text(w, colour); err != nil {
		return err
	}
	ready := 0
	for _, r := range reports {
		if r.Ready() {
			ready++
		}
	}
	_, err := fmt.Fprintf(w, "preflight: %d of %d tenant(s) ready\n", ready, len(reports))
	return err
}
