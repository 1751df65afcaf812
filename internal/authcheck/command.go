package authcheck

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// FromSandbox is the Source of a token the local sandbox issued.
const FromSandbox = creds.FromSandbox

// Command is `mage auth:check <tenant|all>`: it resolves the tenants (names checked before
// any file is read), finds the API the run talks to and checks every tenant's token.
// lookup reads environment variables (nil: the process environment); banner receives the
// sandbox banner (nil: discarded).
func Command(ctx context.Context, ws workspace.Workspace, log *slog.Logger, which string, lookup creds.Lookup, banner io.Writer) ([]Result, error) {
	names, err := tenant.Select(ws, which)
	if err != nil {
		return nil, fmt.Errorf("auth:check: %w", err)
	}
	targets := make([]Target, 0, len(names))
	for _, n := range names {
		t, err := tenant.Load(ctx, ws, n)
		if err != nil {
			return nil, fmt.Errorf("auth:check: %w", err)
		}
		worker := n + "-api"
		if r, err := t.Resolve(tenant.Production); err == nil && r.WorkerName != "" {
			worker = r.WorkerName
		}
		targets = append(targets, Target{Tenant: n, AccountID: t.Config.AccountID, Worker: worker})
	}
	ep, err := sandboxctl.Resolve(ctx, ws, log)
	if err != nil {
		return nil, fmt.Errorf("auth:check: %w", err)
	}
	if banner != nil {
		ep.PrintBanner(banner)
	}
	find := func(name, account string) (creds.Token, error) {
		return creds.For(name, account, ws.Root, lookup, ep.SandboxTokens())
	}
	dial := func(account string, tok creds.Secret) (Client, error) {
		return cfapi.New(cfapi.Config{BaseURL: ep.APIBaseURL, Token: tok.Reveal(), AccountID: account,
			MaxRetries: 1, Timeout: 15 * time.Second, RateLimitWait: 10 * time.Second, Log: log})
	}
	return Check(ctx, targets, find, dial)
}
