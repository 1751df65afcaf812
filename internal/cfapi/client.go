package cfapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/workers"
)

// DefaultBaseURL is Cloudflare's public API.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// Config says where and as whom a Client reads. Zero values take the defaults shown.
type Config struct {
	// BaseURL of the API, e.g. http://127.0.0.1:PORT/client/v4 for the sandbox.
	// Default DefaultBaseURL. A trailing slash is removed.
	BaseURL string
	// Token is the tenant's API token. Required. It goes only into the Authorization header.
	Token string
	// AccountID is the tenant's 32-hex account id. Required.
	AccountID string
	// HTTPClient sends the requests; default a plain http.Client (timeouts are per attempt here).
	HTTPClient *http.Client
	// MaxRetries of a read (or of DeployVersion, the one idempotent write) after a 5xx or a
	// network error; default 3, negative for none.
	// 429s are not counted here: they are waited out up to RateLimitWait.
	MaxRetries int
	// Timeout of one attempt, including reading the answer; default 30 s.
	Timeout time.Duration
	// RateLimitWait is how long one call may spend waiting out 429s; default 2 min.
	RateLimitWait time.Duration
	// Budget of requests per token; default DefaultBudget; Requests < 0 turns pacing off.
	Budget Budget
	// Log receives one debug line per request (never the token). Default: discard.
	Log *slog.Logger
}

// Client reads one account. It is safe for concurrent use.
type Client struct {
	account string
	base    string
	scripts *workers.ScriptService
	svc     *workers.WorkerService
	pacer   *pacer
	http    *http.Client
	token   string
}

// Reader is what deploy and drift need from Cloudflare; *Client implements it, and tests
// may fake it.
type Reader interface {
	LiveDeployment(ctx context.Context, script string) (Deployment, error)
	Deployments(ctx context.Context, script string) ([]Deployment, error)
	Version(ctx context.Context, script, versionID string) (Version, error)
	Versions(ctx context.Context, script string, n int) ([]Version, error)
	Settings(ctx context.Context, script string) (Settings, error)
	Schedules(ctx context.Context, script string) ([]Schedule, error)
	Secrets(ctx context.Context, script string) ([]Secret, error)
	ContentSHA256(ctx context.Context, script, versionID string) (string, error)
	Subdomain(ctx context.Context) (string, error)
	Script(ctx context.Context, script string) (Script, error)
	Domains(ctx context.Context, script string) ([]Domain, error)
}

var _ Reader = (*Client)(nil)

var accountIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// New checks cfg and builds a Client. It makes no request.
func New(cfg Config) (*Client, error) {
	if cfg.Token == "" {
		return nil, errors.New("cfapi: no API token; set CLOUDFLARE_API_TOKEN_<TENANT> in the environment or .env.deploy")
	}
	if !accountIDPattern.MatchString(cfg.AccountID) {
		return nil, fmt.Errorf("cfapi: account id %q is not 32 lower-case hex characters; fix account_id in the tenant's tenant.config.json", cfg.AccountID)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cfapi: base URL %q is not an http(s) URL; check CLOUDFLARE_API_BASE_URL", cfg.BaseURL)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	retries := cfg.MaxRetries
	switch {
	case retries == 0:
		retries = 3
	case retries < 0:
		retries = 0
	}
	budget := cfg.Budget
	if budget.Requests == 0 {
		budget = DefaultBudget
	}
	if budget.Requests > 0 && budget.Window <= 0 {
		budget.Window = DefaultBudget.Window
	}
	p := &pacer{
		log:        log,
		budget:     sharedWindow(cfg.Token, budget),
		timeout:    orDefault(cfg.Timeout, 30*time.Second),
		maxRetries: retries,
		rateWait:   orDefault(cfg.RateLimitWait, 2*time.Minute),
		basePath:   u.Path,
		token:      cfg.Token,
		sleep:      sleepCtx,
	}
	opts := []option.RequestOption{
		option.WithBaseURL(base),
		option.WithAPIToken(cfg.Token),
		option.WithHTTPClient(hc),
		// The SDK's own retries (10, up to 30 s each) and timeout are off: the pacer does both.
		option.WithMaxRetries(0),
		option.WithMiddleware(p.middleware),
	}
	svc := workers.NewWorkerService(opts...)
	return &Client{account: cfg.AccountID, base: base, svc: svc, scripts: svc.Scripts, pacer: p, http: hc, token: cfg.Token}, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// AccountID is the account this client reads.
func (c *Client) AccountID() string { return c.account }

// TrafficSplit is one version's share of a deployment.
type TrafficSplit struct {
	VersionID  string
	Percentage float64
}

// Deployment is which versions serve a Worker's traffic, and in what shares.
type Deployment struct {
	ID          string
	CreatedOn   time.Time
	Source      string
	Strategy    string
	AuthorEmail string
	Message     string // annotation workers/message
	TriggeredBy string // annotation workers/triggered_by
	Versions    []TrafficSplit
}

// Primary is the version with the largest share (the only one outside a gradual rollout).
func (d Deployment) Primary() TrafficSplit {
	var best TrafficSplit
	for _, v := range d.Versions {
		if v.Percentage > best.Percentage {
			best = v
		}
	}
	return best
}

// VersionIDs are the versions d gives traffic to, in its order.
func (d Deployment) VersionIDs() []string {
	ids := make([]string, 0, len(d.Versions))
	for _, v := range d.Versions {
		ids = append(ids, v.VersionID)
	}
	return ids
}

// Annotations a version carries; Cloudflare sets triggered_by, wrangler the others.
type Annotations struct {
	Message     string `json:"workers/message"`
	Tag         string `json:"workers/tag"`
	TriggeredBy string `json:"workers/triggered_by"`
}

// Version is one uploaded version of a Worker. From Versions (a list), Bindings and the
// runtime fields are empty: the list does not carry them; use Version for one.
type Version struct {
	ID                 string
	Number             int
	CreatedOn          time.Time
	Source             string
	AuthorEmail        string
	Annotations        Annotations
	Bindings           Bindings
	CompatibilityDate  string
	CompatibilityFlags []string
	MigrationTag       string
	UsageModel         string
	Etag               string
	Handlers           []string
}

// Settings are the settings of the Worker's latest version, as /settings reports them.
type Settings struct {
	Bindings           Bindings
	CompatibilityDate  string
	CompatibilityFlags []string
	UsageModel         string
	Logpush            bool
	Tags               []string
	Annotations        Annotations
}

// Schedule is one cron trigger.
type Schedule struct {
	Cron       string
	CreatedOn  string
	ModifiedOn string
}

// Secret is a secret's name and type; values are never readable.
type Secret struct {
	Name string
	Type string
}

// Script is a Worker as the account's script list shows it.
type Script struct {
	ID           string
	Tag          string
	MigrationTag string
	CreatedOn    time.Time
	ModifiedOn   time.Time
	Routes       []Route
}

// Route is a zone route pattern attached to a Worker.
type Route struct {
	ID      string
	Pattern string
}

// Domain is a custom domain serving a Worker.
type Domain struct {
	ID       string
	Hostname string
	Service  string
	ZoneID   string
	ZoneName string
}

// Deployments lists the Worker's deployments, newest (the one serving) first.
func (c *Client) Deployments(ctx context.Context, script string) ([]Deployment, error) {
	var q workers.ScriptDeploymentListParams
	q.AccountID.Value, q.AccountID.Present = c.account, true
	res, err := c.scripts.Deployments.List(ctx, script, q)
	if err != nil {
		return nil, fmt.Errorf("deployments of %s: %w", script, err)
	}
	out := make([]Deployment, 0, len(res.Deployments))
	for _, d := range res.Deployments {
		dep := Deployment{
			ID: d.ID, CreatedOn: d.CreatedOn, Source: d.Source, Strategy: string(d.Strategy), AuthorEmail: d.AuthorEmail,
			Message: d.Annotations.WorkersMessage, TriggeredBy: d.Annotations.WorkersTriggeredBy,
		}
		for _, v := range d.Versions {
			dep.Versions = append(dep.Versions, TrafficSplit{VersionID: v.VersionID, Percentage: v.Percentage})
		}
		out = append(out, dep)
	}
	return out, nil
}

// LiveDeployment is the deployment serving traffic now. A Worker that does not exist or has
// never been deployed gives an error matching ErrNotDeployed.
func (c *Client) LiveDeployment(ctx context.Context, script string) (Deployment, error) {
	deps, err := c.Deployments(ctx, script)
	if errors.Is(err, ErrNotFound) {
		return Deployment{}, fmt.Errorf("%s: %w (%w)", script, ErrNotDeployed, err)
	}
	if err != nil {
		return Deployment{}, err
	}
	if len(deps) == 0 {
		return Deployment{}, fmt.Errorf("%s: %w: it has no deployments", script, ErrNotDeployed)
	}
	return deps[0], nil
}

// Version reads one version with its bindings, runtime settings and annotations.
func (c *Client) Version(ctx context.Context, script, versionID string) (Version, error) {
	var q workers.ScriptVersionGetParams
	q.AccountID.Value, q.AccountID.Present = c.account, true
	v, err := c.scripts.Versions.Get(ctx, script, versionID, q)
	if err != nil {
		return Version{}, fmt.Errorf("version %s of %s: %w", versionID, script, err)
	}
	out := Version{
		ID: v.ID, Number: int(v.Number), CreatedOn: parseTime(v.Metadata.CreatedOn), Source: string(v.Metadata.Source),
		AuthorEmail:        v.Metadata.AuthorEmail,
		CompatibilityDate:  v.Resources.ScriptRuntime.CompatibilityDate,
		CompatibilityFlags: v.Resources.ScriptRuntime.CompatibilityFlags,
		MigrationTag:       v.Resources.ScriptRuntime.MigrationTag,
		UsageModel:         string(v.Resources.ScriptRuntime.UsageModel),
		Etag:               v.Resources.Script.Etag,
		Handlers:           v.Resources.Script.Handlers,
	}
	// The SDK's version types have no annotations field; the raw JSON keeps them.
	if out.Annotations, err = annotationsFrom(v.JSON.ExtraFields); err != nil {
		return Version{}, fmt.Errorf("version %s of %s: %w", versionID, script, err)
	}
	raws := make([][]byte, 0, len(v.Resources.Bindings))
	for _, b := range v.Resources.Bindings {
		raws = append(raws, []byte(b.JSON.RawJSON()))
	}
	if out.Bindings, err = normalizeRaw(raws); err != nil {
		return Version{}, fmt.Errorf("version %s of %s: %w", versionID, script, err)
	}
	return out, nil
}

// Versions lists up to n versions, newest first (n <= 0: all), following pages until an
// empty one.
func (c *Client) Versions(ctx context.Context, script string, n int) ([]Version, error) {
	const perPage int64 = 100
	var out []Version
	for page := int64(1); n <= 0 || len(out) < n; page++ {
		var q workers.ScriptVersionListParams
		q.AccountID.Value, q.AccountID.Present = c.account, true
		q.Page.Value, q.Page.Present = page, true
		q.PerPage.Value, q.PerPage.Present = perPage, true
		res, err := c.scripts.Versions.List(ctx, script, q)
		if err != nil {
			return nil, fmt.Errorf("versions of %s (page %d): %w", script, page, err)
		}
		for _, it := range res.Result.Items {
			ann, err := annotationsFrom(it.JSON.ExtraFields)
			if err != nil {
				return nil, fmt.Errorf("versions of %s: %w", script, err)
			}
			out = append(out, Version{
				ID: it.ID, Number: int(it.Number), CreatedOn: parseTime(it.Metadata.CreatedOn),
				Source: string(it.Metadata.Source), AuthorEmail: it.Metadata.AuthorEmail, Annotations: ann,
			})
		}
		if int64(len(res.Result.Items)) < perPage {
			break
		}
	}
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// Settings reads the Worker's bindings and runtime settings (/settings, not /script-settings).
func (c *Client) Settings(ctx context.Context, script string) (Settings, error) {
	var q workers.ScriptScriptAndVersionSettingGetParams
	q.AccountID.Value, q.AccountID.Present = c.account, true
	s, err := c.scripts.ScriptAndVersionSettings.Get(ctx, script, q)
	if err != nil {
		return Settings{}, fmt.Errorf("settings of %s: %w", script, err)
	}
	out := Settings{
		CompatibilityDate: s.CompatibilityDate, CompatibilityFlags: s.CompatibilityFlags,
		UsageModel: string(s.UsageModel), Logpush: s.Logpush, Tags: s.Tags,
		Annotations: Annotations{Message: s.Annotations.WorkersMessage, Tag: s.Annotations.WorkersTag, TriggeredBy: s.Annotations.WorkersTriggeredBy},
	}
	raws := make([][]byte, 0, len(s.Bindings))
	for _, b := range s.Bindings {
		raws = append(raws, []byte(b.JSON.RawJSON()))
	}
	if out.Bindings, err = normalizeRaw(raws); err != nil {
		return Settings{}, fmt.Errorf("settings of %s: %w", script, err)
	}
	return out, nil
}

// Schedules lists the Worker's cron triggers.
func (c *Client) Schedules(ctx context.Context, script string) ([]Schedule, error) {
	var q workers.ScriptScheduleGetParams
	q.AccountID.Value, q.AccountID.Present = c.account, true
	res, err := c.scripts.Schedules.Get(ctx, script, q)
	if err != nil {
		return nil, fmt.Errorf("schedules of %s: %w", script, err)
	}
	out := make([]Schedule, 0, len(res.Schedules))
	for _, s := range res.Schedules {
		out = append(out, Schedule{Cron: s.Cron, CreatedOn: s.CreatedOn, ModifiedOn: s.ModifiedOn})
	}
	return out, nil
}

// Secrets lists the names and types of the Worker's secrets.
func (c *Client) Secrets(ctx context.Context, script string) ([]Secret, error) {
	var q workers.ScriptSecretListParams
	q.AccountID.Value, q.AccountID.Present = c.account, true
	res, err := c.scripts.Secrets.List(ctx, script, q)
	if err != nil {
		return nil, fmt.Errorf("secrets of %s: %w", script, err)
	}
	out := make([]Secret, 0, len(res.Result))
	for _, s := range res.Result {
		out = append(out, Secret{Name: s.Name, Type: string(s.Type)})
	}
	return out, nil
}

// Subdomain is the account's workers.dev subdomain ("acme" in <script>.acme.workers.dev).
func (c *Client) Subdomain(ctx context.Context) (string, error) {
	var q workers.SubdomainGetParams
	q.AccountID.Value, q.AccountID.Present = c.account, true
	res, err := c.svc.Subdomains.Get(ctx, q)
	if err != nil {
		return "", fmt.Errorf("workers.dev subdomain of account %s: %w", c.account, err)
	}
	return res.Subdomain, nil
}

// Script finds the Worker in the account's script list (migration tag, routes). A Worker
// that is not there gives an error matching ErrNotFound.
func (c *Client) Script(ctx context.Context, script string) (Script, error) {
	var q workers.ScriptListParams
	q.AccountID.Value, q.AccountID.Present = c.account, true
	res, err := c.scripts.List(ctx, q)
	if err != nil {
		return Script{}, fmt.Errorf("scripts of account %s: %w", c.account, err)
	}
	for _, s := range res.Result {
		if s.ID != script {
			continue
		}
		out := Script{ID: s.ID, Tag: s.Tag, MigrationTag: s.MigrationTag, CreatedOn: s.CreatedOn, ModifiedOn: s.ModifiedOn}
		for _, r := range s.Routes {
			out.Routes = append(out.Routes, Route{ID: r.ID, Pattern: r.Pattern})
		}
		return out, nil
	}
	return Script{}, fmt.Errorf("script %s: %w in account %s", script, ErrNotFound, c.account)
}

// Routes lists the zone routes attached to the Worker (from the account's script list).
func (c *Client) Routes(ctx context.Context, script string) ([]Route, error) {
	s, err := c.Script(ctx, script)
	if err != nil {
		return nil, err
	}
	return s.Routes, nil
}

// Domains lists the custom domains that serve the Worker.
func (c *Client) Domains(ctx context.Context, script string) ([]Domain, error) {
	var q workers.DomainListParams
	q.AccountID.Value, q.AccountID.Present = c.account, true
	q.Service.Value, q.Service.Present = script, true
	res, err := c.svc.Domains.List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("custom domains of %s: %w", script, err)
	}
	var out []Domain
	for _, d := range res.Result {
		if d.Service != script { // the filter is the server's; do not trust it blindly
			continue
		}
		out = append(out, Domain{ID: d.ID, Hostname: d.Hostname, Service: d.Service, ZoneID: d.ZoneID, ZoneName: d.ZoneName})
	}
	return out, nil
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func decodeJSON(r io.Reader, v any) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// annotationsFrom reads "annotations" from the fields the SDK did not type.
func annotationsFrom[F interface{ Raw() string }](extra map[string]F) (Annotations, error) {
	var a Annotations
	f, ok := extra["annotations"]
	if !ok || f.Raw() == "" || f.Raw() == "null" {
		return a, nil
	}
	if err := json.Unmarshal([]byte(f.Raw()), &a); err != nil {
		return a, fmt.Errorf("annotations are not an object of strings: %w", err)
	}
	return a, nil
}

func normalizeRaw(raws [][]byte) (Bindings, error) {
	msgs := make([]json.RawMessage, len(raws))
	for i, r := range raws {
		msgs[i] = r
	}
	return normalizeBindings(msgs)
}
