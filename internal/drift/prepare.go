package drift

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/buildcache"
	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// Sources builds each tenant's Input from the workspace: the tenant's files, a dry-run
// bundle (cached by the hash of its inputs, so an unchanged tree costs no wrangler run), the
// records in deployments/, and a cfapi client with the tenant's own token.
type Sources struct {
	Workspace workspace.Workspace
	// Runner builds bundles; the zero value means wrangler.New(Workspace, Log).
	Runner wrangler.Runner
	// APIBaseURL of the Cloudflare API (the sandbox's when it runs); "" is Cloudflare.
	APIBaseURL string
	HTTPClient *http.Client
	// Lookup reads tokens from the process environment; nil means os.LookupEnv.
	Lookup creds.Lookup
	// SandboxToken is set when the run talks to a sandbox: its token for the tenant's account
	// is used, and the tenant's real token never is (creds.For), as for deploy.
	SandboxToken creds.SandboxTokens
	// Budget and RateLimitWait pass through to cfapi (zero: its defaults).
	Budget        cfapi.Budget
	RateLimitWait time.Duration
	Log           *slog.Logger

	// builds bounds concurrent wrangler builds: they are CPU-bound, unlike the API reads.
	builds chan struct{}
}

// NewSources returns s ready to use, allowing maxBuilds wrangler builds at once.
func NewSources(s Sources, maxBuilds int) *Sources {
	if s.Runner.Bin == "" {
		s.Runner = wrangler.New(s.Workspace, s.Log)
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	s.builds = make(chan struct{}, max(maxBuilds, 1))
	return &s
}

// nothingToCompare is why drift refuses dev.
const nothingToCompare = " and has nothing deployed to compare; use staging or production"

// Prepare implements Prepare for one tenant/env.
func (s *Sources) Prepare(ctx context.Context, name string, env tenant.Env) (Input, error) {
	if err := env.RequireCloud(nothingToCompare); err != nil {
		return Input{}, err
	}
	t, err := tenant.Load(ctx, s.Workspace, name)
	if err != nil {
		return Input{}, err
	}
	r, err := t.Resolve(env)
	if err != nil {
		return Input{}, err
	}
	token, err := s.token(name, r.AccountID)
	if err != nil {
		return Input{}, err
	}
	api, err := cfapi.New(cfapi.Config{
		BaseURL: s.APIBaseURL, Token: token.Reveal(), AccountID: r.AccountID, HTTPClient: s.HTTPClient,
		Budget: s.Budget, RateLimitWait: s.RateLimitWait, Log: s.Log,
	})
	if err != nil {
		return Input{}, err
	}

	d := Desired{RequiredSecrets: t.Config.RequiredSecrets, Crons: r.Crons}
	for _, rt := range r.Routes {
		if rt.CustomDomain {
			d.Domains = append(d.Domains, rt.Pattern)
		} else {
			d.Routes = append(d.Routes, rt.Pattern)
		}
	}
	last, ok, err := history.Open(s.Workspace.DeploymentsDir()).LastSucceeded(name, string(env), 0)
	if err != nil {
		return Input{}, fmt.Errorf("records: %w", err)
	}
	if ok {
		d.RecordedVersion = last.Record.VersionID
	}

	b, err := s.bundle(ctx, t, r, env)
	if err != nil {
		return Input{}, fmt.Errorf("build: %w", err)
	}
	if b.WorkerName != r.WorkerName {
		return Input{}, fmt.Errorf("build: wrangler built Worker %q but the config resolves to %q; check name in %s", b.WorkerName, r.WorkerName, t.WranglerPath())
	}
	d.CodeSHA256 = b.SHA256
	if err := d.FromUploadMetadata(b.Metadata); err != nil {
		return Input{}, fmt.Errorf("build: %w", err)
	}
	return Input{Worker: r.WorkerName, Desired: d, Reader: api}, nil
}

// bundle returns the dry-run bundle of t/env. A bundle built from the same inputs is reused,
// deploy's (.build/<tenant>/<env>) or drift's own from an earlier run; otherwise wrangler
// builds into drift's own folder and the result is stamped for the next run. Drift never
// builds into .build: deploys write there under their tenant/env lock, which drift does not
// take, and two builds writing one folder at once could mix their files. Reading it is safe:
// Lookup trusts a bundle only when its stamp and the sha256 of its main module agree.
func (s *Sources) bundle(ctx context.Context, t *tenant.Tenant, r tenant.ResolvedEnv, env tenant.Env) (wrangler.Bundle, error) {
	own := filepath.Join(s.Workspace.StateDir(), "drift", t.Name, string(env))
	inputs, herr := buildcache.InputsHash(s.Workspace, t.Dir, r.WranglerEnv)
	if herr != nil {
		s.Log.Warn("could not hash the build inputs; building without the cache", "tenant", t.Name, "env", env, "err", herr)
	} else {
		for _, dir := range []string{s.Workspace.BundleDir(t.Name, string(env)), own} {
			if b, ok := buildcache.Lookup(dir, inputs); ok && b.WorkerName == r.WorkerName {
				s.Log.Debug("reusing the bundle built from the same inputs", "tenant", t.Name, "env", env, "dir", dir)
				return b, nil
			}
		}
	}

	select {
	case s.builds <- struct{}{}:
	case <-ctx.Done():
		return wrangler.Bundle{}, ctx.Err()
	}
	defer func() { <-s.builds }()
	buildcache.Invalidate(own)
	b, err := s.Runner.Build(ctx, wrangler.Invocation{ConfigPath: t.WranglerPath(), Env: r.WranglerEnv, AccountID: r.AccountID}, own)
	if err != nil {
		return wrangler.Bundle{}, err
	}
	if herr == nil {
		buildcache.Stamp(b, inputs)
	}
	return b, nil
}

// token is the sandbox's token for the account when running against the sandbox, else the
// tenant's own from the environment or .env.deploy.
func (s *Sources) token(name, accountID string) (creds.Secret, error) {
	tok, err := creds.For(name, accountID, s.Workspace.Root, s.Lookup, s.SandboxToken)
	return tok.Value, err
}
