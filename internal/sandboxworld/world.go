package sandboxworld

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/preflight"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxhost"
	"github.com/rainbowsmoke/crispy-enigma/internal/secrets"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspacecopy"
)

// Tenant is one tenant of the world and its sandbox account.
type Tenant struct {
	Name, AccountID, Subdomain string
	// Token is the sandbox token issued for the account (recognisable, unique per world).
	Token string
}

// Options shape a World.
type Options struct {
	// Generate, when above zero, replaces the repository's tenants with that many generated
	// ones (gen-001, gen-002, …), each in its own account, cloned from TemplateTenant.
	Generate int
	// TemplateTenant is the tenant the generated ones are cloned from; default mrrainbowsmoke.
	TemplateTenant string
	// RequestLog receives the sandbox's request log (one JSON line per request).
	RequestLog io.Writer
	// Edge is the sandbox's workers.dev edge; the zero value is the fake one (no code runs).
	Edge sandbox.EdgeOptions
	// Observe, when set, sees every API request and answer (sandbox.Options.Observe).
	Observe func(sandbox.Exchange)
}

// World is a temporary workspace with a sandbox serving its tenants.
type World struct {
	WS         workspace.Workspace
	Sandbox    *sandbox.Server
	Server     *httptest.Server
	APIBaseURL string
	// HTTPClient sends https://*.workers.dev requests to the sandbox's edge, keeping the Host.
	HTTPClient *http.Client
	Tenants    []Tenant

	mu       sync.Mutex
	withheld map[string]bool
}

// New builds a world in dir (normally t.TempDir()) from the repository at repo.
func New(repo workspace.Workspace, dir string, o Options) (*World, error) {
	// Tenants come next: the repository's or generated ones.
	ws, err := workspacecopy.To(repo, dir, workspacecopy.Options{NoTenants: true})
	if err != nil {
		return nil, fmt.Errorf("sandboxworld: %w", err)
	}
	var tenants []Tenant
	if o.Generate > 0 {
		tenants, err = generate(repo, ws, o)
	} else {
		tenants, err = copyTenants(repo, ws)
	}
	if err != nil {
		return nil, err
	}
	run := randomHex(4)
	var accts []sandbox.Account
	for i := range tenants {
		tenants[i].Token = "sandboxworld-" + run + "-" + tenants[i].Name + "-" + randomHex(8)
		kv, vec := sandboxhost.TenantResources(ws, tenants[i].Name)
		accts = append(accts, sandbox.Account{ID: tenants[i].AccountID, Name: tenants[i].Name, Subdomain: tenants[i].Subdomain, Token: tenants[i].Token,
			KVNamespaces: kv, VectorizeIndexes: vec})
	}
	sb, err := sandbox.New(sandbox.Options{Accounts: accts, RequestLog: o.RequestLog, Edge: o.Edge, Observe: o.Observe})
	if err != nil {
		return nil, fmt.Errorf("sandboxworld: %w", err)
	}
	srv := httptest.NewServer(sb.Handler())
	// Many tenants' health checks at once: more idle connections than the default two.
	transport := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	client := &http.Client{Timeout: 30 * time.Second, Transport: sandboxctl.EdgeTransport(srv.URL, transport)}
	return &World{WS: ws, Sandbox: sb, Server: srv, APIBaseURL: srv.URL + "/client/v4", HTTPClient: client,
		Tenants: tenants, withheld: map[string]bool{}}, nil
}

// Close stops the sandbox's listener and its edge's Worker runtimes.
func (w *World) Close() {
	w.Server.Close()
	_ = w.Sandbox.Close() // a runtime that will not stop is killed; nothing to report to a test
}

// Tenant finds a tenant by name.
func (w *World) Tenant(name string) (Tenant, error) {
	for _, t := range w.Tenants {
		if t.Name == name {
			return t, nil
		}
	}
	return Tenant{}, fmt.Errorf("sandboxworld: no tenant %s in this world", name)
}

// Names lists the tenants' names in order.
func (w *World) Names() []string {
	out := make([]string, len(w.Tenants))
	for i, t := range w.Tenants {
		out[i] = t.Name
	}
	return out
}

// Withhold makes the tenant's token variable unset, as on a machine where it was never
// configured.
func (w *World) Withhold(name string, withheld bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.withheld[name] = withheld
}

// Lookup is the process environment as deploys in this world see it: one
// CLOUDFLARE_API_TOKEN_<TENANT> per tenant that is not withheld, nothing else.
func (w *World) Lookup(key string) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range w.Tenants {
		if creds.VarName(t.Name) == key && !w.withheld[t.Name] {
			return t.Token, true
		}
	}
	return "", false
}

// API is a cfapi client for the tenant's account, outside any budget, for assertions.
func (w *World) API(name string) (*cfapi.Client, error) {
	t, err := w.Tenant(name)
	if err != nil {
		return nil, err
	}
	c, err := cfapi.New(cfapi.Config{BaseURL: w.APIBaseURL, Token: t.Token, AccountID: t.AccountID,
		HTTPClient: w.HTTPClient, Budget: cfapi.Budget{Requests: -1}})
	if err != nil {
		return nil, fmt.Errorf("sandboxworld: %s: %w", name, err)
	}
	return c, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// tenantFile is the part of tenant.config.json the world needs.
type tenantFile struct {
	DisplayName string `json:"display_name"`
	AccountID   string `json:"account_id"`
	Subdomain   string `json:"workers_dev_subdomain"`
}

func copyTenants(repo, ws workspace.Workspace) ([]Tenant, error) {
	if err := workspacecopy.Tree(repo.TenantsDir(), ws.TenantsDir()); err != nil {
		return nil, fmt.Errorf("sandboxworld: copy tenants: %w", err)
	}
	entries, err := os.ReadDir(ws.TenantsDir())
	if err != nil {
		return nil, err
	}
	var out []Tenant
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		tf, err := readTenantFile(filepath.Join(ws.TenantDir(e.Name()), "tenant.config.json"))
		if err != nil {
			return nil, err
		}
		out = append(out, Tenant{Name: e.Name(), AccountID: tf.AccountID, Subdomain: tf.Subdomain})
	}
	if len(out) == 0 {
		return nil, errors.New("sandboxworld: the repository has no tenants to copy")
	}
	return out, nil
}

// SetSecrets sets every required secret of the tenant's Worker in env (deployed already), as
// an operator does with secrets:put after a first deploy, so that later deploys pass
// preflight. The values are fixed test values.
func (w *World) SetSecrets(name, env string) error {
	t, err := preflight.TargetFor(context.Background(), w.WS, name, tenant.Env(env))
	if err != nil {
		return err
	}
	vals := make([]secrets.Value, 0, len(t.RequiredSecrets))
	for _, s := range t.RequiredSecrets {
		vals = append(vals, secrets.Value{Name: s, Value: "sandboxworld-" + s})
	}
	api, err := w.API(name)
	if err != nil {
		return err
	}
	_, err = secrets.Put(context.Background(), api, t.Resolved.WorkerName, vals)
	return err
}

// SetAllSecrets is SetSecrets for every tenant of the world: after a first deploy of the
// fleet, so that the next ones pass preflight.
func (w *World) SetAllSecrets(env string) error {
	for _, t := range w.Tenants {
		if err := w.SetSecrets(t.Name, env); err != nil {
			return fmt.Errorf("sandboxworld: secrets of %s/%s: %w", t.Name, env, err)
		}
	}
	return nil
}
