package sandboxctl

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// RealAPIBaseURL is Cloudflare's public API.
const RealAPIBaseURL = "https://api.cloudflare.com/client/v4"

// BaseURLEnv is the variable (wrangler's own) that names an API explicitly.
const BaseURLEnv = "CLOUDFLARE_API_BASE_URL"

// Endpoint is the Cloudflare API a run talks to.
type Endpoint struct {
	// APIBaseURL for wrangler (CLOUDFLARE_API_BASE_URL) and cfapi, without a trailing slash.
	APIBaseURL string
	// Sandbox is true when the API is this checkout's local sandbox: no real account is touched.
	Sandbox bool
	// Explicit is true when CLOUDFLARE_API_BASE_URL chose the API.
	Explicit bool
	// StatePath is the sandbox's state file (sandbox only).
	StatePath string
	// HTTPClient is for health checks: with the sandbox it sends https://*.workers.dev
	// requests to the sandbox's edge (keeping the Host); otherwise a plain client.
	HTTPClient *http.Client

	tokens map[string]string
	root   string
}

// TokenFor is the sandbox's token for accountID. With the sandbox, callers use it instead of
// the tenant's credentials (none are needed to rehearse); ok is false outside the sandbox
// (use the tenant's credentials) or for an account the sandbox does not know.
func (e Endpoint) TokenFor(accountID string) (string, bool) {
	t, ok := e.tokens[accountID]
	return t, ok && t != ""
}

// SandboxTokens is the sandbox's token source for creds.For: nil unless the run talks to
// this checkout's sandbox.
func (e Endpoint) SandboxTokens() creds.SandboxTokens {
	if !e.Sandbox {
		return nil
	}
	return e.TokenFor
}

// Banner is the one line every run prints when it does not talk to real Cloudflare, and ""
// when it does.
func (e Endpoint) Banner() string {
	switch {
	case e.Sandbox:
		state := e.StatePath
		if e.root != "" {
			state = rel(workspace.Workspace{Root: e.root}, state)
		}
		return fmt.Sprintf("sandbox: using local Cloudflare API at %s (state %s); no real account is touched",
			strings.TrimSuffix(e.APIBaseURL, "/client/v4"), state)
	case e.Explicit:
		return fmt.Sprintf("cloudflare api: using %s from %s", e.APIBaseURL, BaseURLEnv)
	}
	return ""
}

// PrintBanner writes Banner and a newline to w, if there is a banner.
func (e Endpoint) PrintBanner(w io.Writer) {
	if b := e.Banner(); b != "" {
		fmt.Fprintln(w, b)
	}
}

// Decision is whether a run rehearses or is real, made once per command by Decide: the API
// (with its token source: the sandbox's tokens, or the tenants' own) and the records folder.
type Decision struct {
	Endpoint Endpoint
	// Rehearsal: the run talks to a sandbox (this checkout's, or one it attached to).
	Rehearsal bool
	// Records is where the run's deployment records go: the sandbox's rehearsal folder, never
	// deployments/, when it rehearses; "" for the checkout's deployments/.
	Records string
}

// handed holds the decision a command's setup made, per checkout root, so that every package
// the command calls (Resolve) gets that decision instead of deciding again.
var handed sync.Map // root -> Decision

// Decide is the one place that decides "rehearsal or real" for a command in ws: an explicit
// CLOUDFLARE_API_BASE_URL wins; else the checkout's running (or attached) sandbox; else real
// Cloudflare. The magefile's setup calls it once and hands the result on (Hand).
func Decide(ctx context.Context, ws workspace.Workspace, log *slog.Logger) (Decision, error) {
	ep, err := decideEndpoint(ctx, ws, log)
	if err != nil {
		return Decision{}, err
	}
	d := Decision{Endpoint: ep, Rehearsal: ep.Sandbox}
	if d.Rehearsal {
		d.Records = PathsFor(ws).Records
	}
	return d, nil
}

// Hand makes d the decision for ws for the rest of this process: Resolve returns it.
func Hand(ws workspace.Workspace, d Decision) { handed.Store(ws.Root, d) }

// Resolve is the API of the decision handed for ws (Hand), or, where no command's setup made
// one (a package's own tests), the one Decide makes now.
func Resolve(ctx context.Context, ws workspace.Workspace, log *slog.Logger) (Endpoint, error) {
	if d, ok := handed.Load(ws.Root); ok {
		return d.(Decision).Endpoint, nil
	}
	d, err := Decide(ctx, ws, log)
	return d.Endpoint, err
}

func decideEndpoint(ctx context.Context, ws workspace.Workspace, log *slog.Logger) (Endpoint, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rt, _, ok, err := running(ctx, ws)
	if err != nil {
		return Endpoint{}, err
	}
	if explicit := strings.TrimRight(os.Getenv(BaseURLEnv), "/"); explicit != "" {
		u, err := url.Parse(explicit)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Endpoint{}, fmt.Errorf("%s=%q is not an http(s) URL; fix or unset it", BaseURLEnv, os.Getenv(BaseURLEnv))
		}
		if !ok || explicit != rt.APIBaseURL() {
			if ep, found := answersAsSandbox(ctx, ws, u); found {
				// Another checkout's sandbox named by its address: a rehearsal like an attached
				// one (its tokens, its edge, this checkout's rehearsal records), so no tenant's
				// real token is sent to it and no rehearsal record lands in deployments/.
				log.Info("CLOUDFLARE_API_BASE_URL answers as a sandbox: rehearsing against it", "url", explicit)
				return ep, nil
			}
			log.Debug("cloudflare api chosen by environment", "url", explicit)
			return Endpoint{APIBaseURL: explicit, Explicit: true, HTTPClient: plainClient()}, nil
		}
		// It names our own sandbox: keep the sandbox's tokens and edge routing.
	}
	if !ok {
		return Endpoint{APIBaseURL: RealAPIBaseURL, HTTPClient: plainClient()}, nil
	}
	raw, err := control(ctx, rt, http.MethodGet, "/__sandbox/tokens", nil)
	if err != nil {
		return Endpoint{}, fmt.Errorf("sandbox at %s runs but gave no tokens: %w; try `mage sandbox:stop` then `mage sandbox:start`", rt.URL, err)
	}
	tokens := map[string]string{}
	if err := json.Unmarshal(raw, &tokens); err != nil {
		return Endpoint{}, fmt.Errorf("sandbox at %s: tokens answer is not a JSON object of strings: %w", rt.URL, err)
	}
	ep := SandboxEndpoint(rt.URL, rt.State, tokens)
	ep.root = ws.Root
	return ep, nil
}

// SandboxEndpoint describes a sandbox listening at serverURL (http://127.0.0.1:PORT, as
// httptest gives it) that issued tokens (account id -> token). Tests of deploy, drift and
// fleet use it with an in-process sandbox.Server; Resolve uses it for the running one.
func SandboxEndpoint(serverURL, statePath string, tokens map[string]string) Endpoint {
	serverURL = strings.TrimRight(serverURL, "/")
	own := make(map[string]string, len(tokens))
	for k, v := range tokens {
		own[k] = v
	}
	return Endpoint{
		APIBaseURL: serverURL + "/client/v4", Sandbox: true, StatePath: statePath,
		HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: EdgeTransport(serverURL, http.DefaultTransport)},
		tokens:     own,
	}
}

func plainClient() *http.Client { return &http.Client{Timeout: 30 * time.Second} }

// EdgeTransport sends requests for *.workers.dev hosts to the sandbox at sandboxURL over plain
// HTTP, keeping the original Host so the sandbox knows which Worker is meant; other hosts go
// out unchanged. base carries both (http.DefaultTransport, or one with more idle connections
// for a benchmark's many tenants). It is the one way the tools and the test worlds reach the
// sandbox's workers.dev edge.
func EdgeTransport(sandboxURL string, base http.RoundTripper) http.RoundTripper {
	target, _ := url.Parse(sandboxURL)
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		host := r.URL.Hostname()
		if !strings.HasSuffix(host, ".workers.dev") {
			return base.RoundTrip(r)
		}
		r2 := r.Clone(r.Context())
		r2.Host = r.URL.Host
		if r.Host != "" {
			r2.Host = r.Host
		}
		r2.URL.Scheme, r2.URL.Host = target.Scheme, target.Host
		return base.RoundTrip(r2)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// answersAsSandbox reports whether u, an explicit API base URL, is a sandbox: on the loopback
// (a sandbox listens nowhere else) and answering its control API with the tokens it issued.
// Anything else (real Cloudflare, a proxy, nothing listening) is not one.
func answersAsSandbox(ctx context.Context, ws workspace.Workspace, u *url.URL) (Endpoint, bool) {
	host := u.Hostname()
	if ip := net.ParseIP(host); u.Scheme != "http" || !(host == "localhost" || (ip != nil && ip.IsLoopback())) {
		return Endpoint{}, false
	}
	root := u.Scheme + "://" + u.Host
	raw, err := control(ctx, Runtime{URL: root}, http.MethodGet, "/__sandbox/tokens", nil)
	if err != nil {
		return Endpoint{}, false
	}
	tokens := map[string]string{}
	if err := json.Unmarshal(raw, &tokens); err != nil || len(tokens) == 0 {
		return Endpoint{}, false
	}
	ep := SandboxEndpoint(root, "", tokens)
	ep.root = ws.Root
	return ep, true
}
