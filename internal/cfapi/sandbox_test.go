package cfapi

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
)

const script = "readback-api-staging"

var versionLine = regexp.MustCompile(`Worker Version ID: ([0-9a-f-]{36})`)

// Deploy the fixture with the real wrangler, change it the ways operators do (secret, upload
// with tag and message, split deploy), then read every part back with cloudflare-go.
func TestReadBackWhatWranglerDeployed(t *testing.T) {
	srv, base := sandboxFor(t)
	if _, err := srv.AddZone("example.com"); err != nil {
		t.Fatal(err)
	}
	token := srv.Token(testAccount)
	dir := fixture(t, testAccount)
	ctx := context.Background()

	wrangler(t, base, token, dir, "", "deploy", "--env", "staging")
	wrangler(t, base, token, dir, "s3cr3t-value", "secret", "put", "AI_GATEWAY_TOKEN", "--env", "staging")
	up := wrangler(t, base, token, dir, "", "versions", "upload", "--env", "staging", "--tag", "T7", "--message", "seven")
	m := versionLine.FindStringSubmatch(up)
	if m == nil {
		t.Fatalf("no version id in versions upload output:\n%s", up)
	}
	uploaded := m[1]

	c := newClient(t, base, token, nil)
	before, err := c.LiveDeployment(ctx, script)
	if err != nil {
		t.Fatal(err)
	}
	wrangler(t, base, token, dir, "", "versions", "deploy", uploaded+"@10%", before.Primary().VersionID+"@90%", "--yes", "--message", "canary", "--env", "staging")

	live, err := c.LiveDeployment(ctx, script)
	if err != nil {
		t.Fatal(err)
	}
	if len(live.Versions) != 2 || live.Message != "canary" || live.Primary().VersionID != before.Primary().VersionID {
		t.Fatalf("live deployment: %+v", live)
	}
	for _, v := range live.Versions {
		if (v.VersionID == uploaded) != (v.Percentage == 10) {
			t.Fatalf("split is not 10%% new / 90%% old: %+v", live.Versions)
		}
	}
	deps, err := c.Deployments(ctx, script)
	if err != nil {
		t.Fatal(err)
	}
	// deploy (PUT), secret put, versions deploy: three deployments, newest first.
	if len(deps) != 3 || deps[0].ID != live.ID || !deps[0].CreatedOn.After(deps[2].CreatedOn) || deps[1].TriggeredBy != "secret" {
		t.Fatalf("deployments: %+v", deps)
	}

	v, err := c.Version(ctx, script, uploaded)
	if err != nil {
		t.Fatal(err)
	}
	if v.Annotations != (Annotations{Message: "seven", Tag: "T7", TriggeredBy: "upload"}) {
		t.Fatalf("annotations of the uploaded version: %+v", v.Annotations)
	}
	if v.CompatibilityDate != "2025-09-01" || !slices.Equal(v.CompatibilityFlags, []string{"nodejs_compat"}) {
		t.Fatalf("runtime: %q %v", v.CompatibilityDate, v.CompatibilityFlags)
	}

	// No false drift: the live bindings equal what the repo's dry-run would upload.
	bundleSHA, wantBindings := dryRun(t, dir)
	if len(wantBindings) < 8 { // 3 vars, KV, DO, Vectorize, AI, version metadata
		t.Fatalf("the dry-run upload should carry the fixture's bindings, got %v", wantBindings)
	}
	if d := CompareBindings(wantBindings, v.Bindings.WithoutSecrets()); !d.Empty() {
		t.Fatalf("bindings read back differ from the dry-run upload:\nmissing %v\nunexpected %v\nchanged %v", d.Missing, d.Unexpected, d.Changed)
	}
	if b, ok := v.Bindings.ByName("AI_GATEWAY_TOKEN"); !ok || !b.Secret() {
		t.Fatalf("the secret binding was not kept across the upload: %v", v.Bindings)
	}
	if b, _ := v.Bindings.ByName("CACHE"); b.Type != "kv_namespace" || b.Props["namespace_id"] != `"33333333333333333333333333333333"` {
		t.Fatalf("CACHE binding: %v", b)
	}

	settings, err := c.Settings(ctx, script)
	if err != nil {
		t.Fatal(err)
	}
	if d := CompareBindings(wantBindings, settings.Bindings.WithoutSecrets()); !d.Empty() || settings.CompatibilityDate != "2025-09-01" {
		t.Fatalf("settings: %+v (diff %+v)", settings, d)
	}

	for _, id := range []string{before.Primary().VersionID, uploaded} {
		sum, err := c.ContentSHA256(ctx, script, id)
		if err != nil {
			t.Fatal(err)
		}
		if sum != bundleSHA {
			t.Fatalf("content/v2 entry module of %s: sha256 %s, dry-run bundle %s", id, sum, bundleSHA)
		}
	}

	scheds, err := c.Schedules(ctx, script)
	if err != nil {
		t.Fatal(err)
	}
	var crons []string
	for _, s := range scheds {
		crons = append(crons, s.Cron)
	}
	slices.Sort(crons)
	if !slices.Equal(crons, []string{"0 * * * *", "15 3 * * 1"}) {
		t.Fatalf("crons: %v", crons)
	}

	secrets, err := c.Secrets(ctx, script)
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets) != 1 || secrets[0] != (Secret{Name: "AI_GATEWAY_TOKEN", Type: "secret_text"}) {
		t.Fatalf("secrets: %+v", secrets)
	}

	versions, err := c.Versions(ctx, script, 0)
	if err != nil {
		t.Fatal(err)
	}
	// deploy, secret put, upload: three versions, newest (the upload) first.
	if len(versions) != 3 || versions[0].ID != uploaded || versions[0].Annotations.Tag != "T7" || versions[2].ID != deps[2].Versions[0].VersionID {
		t.Fatalf("versions: %+v", versions)
	}

	sub, err := c.Subdomain(ctx)
	if err != nil || sub != "readback-a" {
		t.Fatalf("subdomain: %q %v", sub, err)
	}
	info, err := c.Script(ctx, script)
	if err != nil {
		t.Fatal(err)
	}
	if info.MigrationTag != "v1" || len(info.Routes) != 1 || info.Routes[0].Pattern != "readback.example.com/api/*" {
		t.Fatalf("script: %+v", info)
	}
	domains, err := c.Domains(ctx, script)
	if err != nil {
		t.Fatal(err)
	}
	if len(domains) != 1 || domains[0].Hostname != "hooks.example.com" || domains[0].ZoneName != "example.com" {
		t.Fatalf("domains: %+v", domains)
	}
	tok, err := c.VerifyToken(ctx)
	if err != nil || tok.Status != "active" {
		t.Fatalf("verify token: %+v %v", tok, err)
	}
}

func TestNotDeployedScriptInSandbox(t *testing.T) {
	srv, base := sandboxFor(t)
	c := newClient(t, base, srv.Token(testAccount), nil)
	_, err := c.LiveDeployment(context.Background(), "never-deployed")
	if !errors.Is(err, ErrNotDeployed) {
		t.Fatalf("want ErrNotDeployed, got %v", err)
	}
	if _, err := c.Script(context.Background(), "never-deployed"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func TestWrongAccountTokenIsRefusedBySandbox(t *testing.T) {
	srv, base := sandboxFor(t)
	other := srv.Token(otherAcct)
	c := newClient(t, base, other, nil) // account A, token of account B
	_, err := c.Deployments(context.Background(), script)
	var ae *APIError
	if !errors.Is(err, ErrUnauthorized) || !errors.As(err, &ae) || ae.Code() == 0 {
		t.Fatalf("want a typed auth error carrying a Cloudflare code, got %v", err)
	}
	if strings.Contains(err.Error(), other) {
		t.Fatalf("token in the error: %v", err)
	}
	if !strings.Contains(err.Error(), "CLOUDFLARE_API_TOKEN_") {
		t.Fatalf("the error should say what to check: %v", err)
	}
}

func TestRateLimitedBySandboxThenSucceeds(t *testing.T) {
	t.Parallel() // mostly waiting: overlap it with the wrangler runs
	srv, base := sandboxFor(t)
	srv.AddFault(sandbox.Fault{Method: "GET", Path: "/accounts/*/workers/scripts/*/deployments", Status: 429, Code: CodeRateLimited, Count: 2, RetryAfter: "1"})
	c := newClient(t, base, srv.Token(testAccount), nil)
	start := time.Now()
	_, err := c.LiveDeployment(context.Background(), script)
	if !errors.Is(err, ErrNotDeployed) { // the third attempt reaches the (empty) account
		t.Fatalf("after two 429s: want the real answer (not deployed), got %v", err)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("Retry-After: 1 twice was not waited out (took %s)", took)
	}
	if n := srv.RequestCount(srv.Token(testAccount)); n != 3 {
		t.Fatalf("sandbox saw %d requests, want 3", n)
	}
}

// The client's budget keeps it under the server's own rate limit: no request is refused.
func TestBudgetStaysUnderTheSandboxRateLimit(t *testing.T) {
	srv, base := sandboxFor(t)
	srv.SetRateLimit(5, time.Second)
	// A little more room than the server's window: the server starts its window when the
	// first request arrives, a moment after the client counted it.
	c := newClient(t, base, srv.Token(testAccount), func(c *Config) {
		c.Budget = Budget{Requests: 5, Window: 1200 * time.Millisecond}
		c.RateLimitWait = time.Millisecond // a 429 would fail the call instead of being waited out
	})
	for i := range 12 {
		if _, err := c.Subdomain(context.Background()); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	if n := srv.RequestCount(srv.Token(testAccount)); n != 12 {
		t.Fatalf("sandbox saw %d requests, want 12", n)
	}
}

// deployFixture deploys the fixture once with wrangler and returns the sandbox, its base URL
// and the account's token.
func deployFixture(t testing.TB) (*sandbox.Server, string, string) {
	srv, base := sandboxFor(t)
	if _, err := srv.AddZone("example.com"); err != nil {
		t.Fatal(err)
	}
	token := srv.Token(testAccount)
	wrangler(t, base, token, fixture(t, testAccount), "", "deploy", "--env", "staging")
	return srv, base, token
}

func TestReadLiveStateIsSevenRequests(t *testing.T) {
	srv, base, token := deployFixture(t)
	c := newClient(t, base, token, nil)
	before := srv.RequestCount(token)
	ls, err := ReadLiveState(context.Background(), c, script)
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.RequestCount(token) - before; n != 7 {
		t.Fatalf("ReadLiveState made %d requests, want 7 (drift's budget is 8 per tenant)", n)
	}
	if ls.Version.ID != ls.Deployment.Primary().VersionID || len(ls.Version.Bindings) == 0 || len(ls.ContentSHA256) != 64 ||
		len(ls.Schedules) != 2 || ls.Script.MigrationTag != "v1" || len(ls.Domains) != 1 {
		t.Fatalf("live state: %+v", ls)
	}
}

func TestReadLiveStateFailsWithTheCause(t *testing.T) {
	srv, base, token := deployFixture(t)
	srv.AddFault(sandbox.Fault{Method: "GET", Path: "/accounts/*/workers/scripts/*/schedules", Status: 400, Code: 10021, Message: "bad cron"})
	_, err := ReadLiveState(context.Background(), newClient(t, base, token, nil), script)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code() != 10021 {
		t.Fatalf("want the schedules error, got %v", err)
	}
}

// BenchmarkReadLiveState reads one Worker's live state with 20 ms of injected API latency,
// side by side: the seven reads one after another, and ReadLiveState (1 + 6 at once).
// It reports requests per read and the time ratio parallel/sequential.
func BenchmarkReadLiveState(b *testing.B) {
	srv, base, token := deployFixture(b)
	srv.SetLatency(20 * time.Millisecond)
	c := newClient(b, base, token, func(c *Config) { c.Budget = Budget{Requests: -1} })
	ctx := context.Background()
	sequential := func() error {
		dep, err := c.LiveDeployment(ctx, script)
		if err != nil {
			return err
		}
		vid := dep.Primary().VersionID
		if _, err := c.Version(ctx, script, vid); err != nil {
			return err
		}
		if _, err := c.ContentSHA256(ctx, script, vid); err != nil {
			return err
		}
		if _, err := c.Schedules(ctx, script); err != nil {
			return err
		}
		if _, err := c.Secrets(ctx, script); err != nil {
			return err
		}
		if _, err := c.Script(ctx, script); err != nil {
			return err
		}
		_, err = c.Domains(ctx, script)
		return err
	}
	var seq, par time.Duration
	startReqs := srv.RequestCount(token)
	for b.Loop() {
		t0 := time.Now()
		if err := sequential(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := ReadLiveState(ctx, c, script); err != nil {
			b.Fatal(err)
		}
		seq, par = seq+t1.Sub(t0), par+time.Since(t1)
	}
	b.ReportMetric(float64(srv.RequestCount(token)-startReqs)/float64(2*b.N), "requests/read")
	b.ReportMetric(float64(par)/float64(seq), "parallel/sequential")
	b.ReportMetric(float64(par.Milliseconds())/float64(b.N), "ms/parallel-read")
}
