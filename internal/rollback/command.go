package rollback

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Options are the operator's optional flags.
type Options struct {
	To     string
	Force  bool
	Reason string
	// Lookup reads environment variables for the token; nil means the process environment.
	Lookup creds.Lookup
	// Banner receives the sandbox banner line; nil discards it.
	Banner io.Writer
}

var versionIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// Command is `mage rollback <tenant> <env>`, the name and env parsed by the caller: it
// refuses dev and a bad -to before any side effect, finds the API (sandbox or Cloudflare)
// and the tenant's token, and runs the rollback.
func Command(ctx context.Context, ws workspace.Workspace, log *slog.Logger, name tenant.Name, env tenant.Env, opt Options) (Outcome, error) {
	tenantName := string(name)
	if err := env.RequireCloud(" and keeps no versions; roll back staging or production, or restart dev from the commit you want"); err != nil {
		return Outcome{}, fmt.Errorf("rollback %s/%s: %w", tenantName, env, err)
	}
	if opt.To != "" && !versionIDPattern.MatchString(opt.To) {
		return Outcome{}, fmt.Errorf("rollback %s/%s: -to=%q is not a version id (a UUID such as 01234567-89ab-cdef-0123-456789abcdef); list versions with `go tool mage history %s %s`", tenantName, env, opt.To, tenantName, env)
	}
	t, err := tenant.Load(ctx, ws, tenantName)
	if err != nil {
		return Outcome{}, fmt.Errorf("rollback: %w", err)
	}
	r, err := t.Resolve(env)
	if err != nil {
		return Outcome{}, fmt.Errorf("rollback %s/%s: %w", tenantName, env, err)
	}
	ep, err := sandboxctl.Resolve(ctx, ws, log)
	if err != nil {
		return Outcome{}, fmt.Errorf("rollback %s/%s: %w", tenantName, env, err)
	}
	if opt.Banner != nil {
		ep.PrintBanner(opt.Banner)
	}
	token, err := TokenFor(ws, ep, tenantName, r.AccountID, opt.Lookup)
	if err != nil {
		return Outcome{}, fmt.Errorf("rollback %s/%s: %w", tenantName, env, err)
	}
	prov := history.Find(ctx, ws.Root, history.Lookup(opt.Lookup))
	deps, worker, err := Wire(Setup{
		Tenant: t, Env: env, BaseURL: ep.APIBaseURL, Token: token, HealthClient: ep.HTTPClient,
		RecordsDir: ws.DeploymentsDir(), LockDir: ws.LocksDir(),
		Provenance: prov, Log: log,
	})
	if err != nil {
		return Outcome{}, err
	}
	return Run(ctx, deps, Request{Tenant: name, Env: env, Worker: worker, To: opt.To, Force: opt.Force, Reason: opt.Reason, Actor: prov.Actor})
}

// TokenFor is the tenant's token: the sandbox's when the run talks to this checkout's
// sandbox, else CLOUDFLARE_API_TOKEN_<TENANT> from the environment or .env.deploy.
func TokenFor(ws workspace.Workspace, ep sandboxctl.Endpoint, tenantName, accountID string, lookup creds.Lookup) (creds.Secret, error) {
	tok, err := creds.For(tenantName, accountID, ws.Root, lookup, ep.SandboxTokens())
	if err != nil {
		return creds.Secret{}, err
	}
	return tok.Value, nil
}

// Text writes the outcome for a person: what was live, what is live now, and where it is
// recorded.
func (o Outcome) Text(w io.Writer) {
	switch o.Status {
	case StatusAlreadyLive:
		fmt.Fprintf(w, "%s/%s: version %s is already live; nothing changed\n", o.Tenant, o.Env, o.ToVersionID)
		return
	case "":
		return // refused before planning finished: the error says why
	}
	fmt.Fprintf(w, "rollback %s/%s (%s): %s\n", o.Tenant, o.Env, o.Worker, o.Status)
	fmt.Fprintf(w, "  from     %s\n", o.FromVersionID)
	fmt.Fprintf(w, "  to       %s  (%s)\n", o.ToVersionID, o.Why)
	if len(o.OverriddenSecrets) > 0 {
		fmt.Fprintf(w, "  forced   past changed secrets: %s\n", strings.Join(o.OverriddenSecrets, ", "))
	}
	if h := o.Health; h != nil {
		state := "healthy"
		if !h.OK {
			state = "NOT healthy"
		}
		tries := "attempts"
		if h.Attempts == 1 {
			tries = "attempt"
		}
		fmt.Fprintf(w, "  health   %s: %s, serving %s (HTTP %d, %d %s)\n", h.URL, state, h.SeenVersion, h.StatusCode, h.Attempts, tries)
	}
	if o.RecordFile != "" {
		fmt.Fprintf(w, "  record   %s\n", o.RecordFile)
	}
	for _, warn := range o.Warnings {
		fmt.Fprintf(w, "  warning  %s\n", warn)
	}
	fmt.Fprintf(w, "  took     %s\n", o.FinishedAt.Sub(o.StartedAt).Round(time.Millisecond))
}
