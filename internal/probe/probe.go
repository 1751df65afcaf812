package probe

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/health"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Result is one tenant/env's health now.
type Result struct {
	Tenant     string `json:"tenant"`
	Env        string `json:"env"`
	URL        string `json:"url"`
	Healthy    bool   `json:"healthy"`
	VersionID  string `json:"version_id"`
	StatusCode int    `json:"status_code"`
	Error      string `json:"error,omitempty"`
}

// Deadline bounds each tenant's check (a variable for tests): long enough for a few attempts past a cold start,
// short enough that `health all` answers at once.
var Deadline = 10 * time.Second

// Health checks target (a tenant or "all") in env (parsed by the caller) once, through client
// (nil: the sandbox's edge when it runs, else a plain client; the banner then goes to banner).
// An unknown tenant is an error; an unhealthy tenant is a Result with Healthy false.
func Health(ctx context.Context, ws workspace.Workspace, log *slog.Logger, target string, env tenant.Env, client *http.Client, banner io.Writer) ([]Result, error) {
	names, err := tenant.Select(ws, target)
	if err != nil {
		return nil, fmt.Errorf("health: %w", err)
	}
	var tenants []*tenant.Tenant
	for _, n := range names {
		t, err := tenant.Load(ctx, ws, n)
		if err != nil {
			return nil, fmt.Errorf("health %s/%s: %w", n, env, err)
		}
		tenants = append(tenants, t)
	}
	if client == nil {
		ep, err := sandboxctl.Resolve(ctx, ws, log)
		if err != nil {
			return nil, fmt.Errorf("health: %w", err)
		}
		if banner != nil {
			ep.PrintBanner(banner)
		}
		client = ep.HTTPClient
		if env == tenant.Dev {
			client = &http.Client{Timeout: 10 * time.Second}
		}
	}
	// At once: an unhealthy tenant takes the whole Deadline, and `health all` should not take
	// that once per tenant.
	results := make([]Result, len(tenants))
	var wg sync.WaitGroup
	for i, t := range tenants {
		wg.Go(func() { results[i] = one(ctx, t, env, client) })
	}
	wg.Wait()
	return results, nil
}

func one(ctx context.Context, t *tenant.Tenant, env tenant.Env, client *http.Client) Result {
	r := Result{Tenant: t.Name, Env: string(env)}
	u, err := t.HealthURL(env)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.URL = u
	res, err := health.Wait(ctx, health.Check{URL: u, Expect: t.Config.HealthCheck.Expect, Deadline: Deadline, Client: client})
	r.Healthy, r.VersionID, r.StatusCode = res.OK, res.SeenVersion, res.StatusCode
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// Unhealthy counts the results that are not healthy.
func Unhealthy(rs []Result) int {
	n := 0
	for _, r := range rs {
		if !r.Healthy {
			n++
		}
	}
	return n
}

// Line is one result as a line of text.
func (r Result) Line() string {
	if r.Healthy {
		return fmt.Sprintf("%s/%s: healthy, version %s at %s", r.Tenant, r.Env, orNone(r.VersionID), r.URL)
	}
	return fmt.Sprintf("%s/%s: NOT healthy at %s: %s", r.Tenant, r.Env, orNone(r.URL), r.Error)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
