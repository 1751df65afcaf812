package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/cfcontract"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxhost"
	"github.com/rainbowsmoke/crispy-enigma/internal/secrets"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/validate"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// The two real tenants, with recognisable canary tokens.
var tenants = []struct{ name, account, subdomain, token string }{
	{"mrrainbowsmoke", "4f1c2b7e9a0d43c8b6e5f70192a3b4c5", "mrrainbowsmoke", "CANARY-mrrainbowsmoke-3f9a1c7e5b"},
	{"rainbowsmokeofficial", "9e8d7c6b5a4f43e2a1b0c9d8e7f6a5b4", "rainbowsmokeofficial", "CANARY-rainbowsmokeofficial-8d2e6f0a4c"},
}

// world is a temporary copy of the repository's tenants and Worker, a sandbox in-process, and
// what a deploy needs to reach it.
type world struct {
	ws           workspace.Workspace
	sb           *sandbox.Server
	srv          *httptest.Server
	client       *http.Client
	reqLog       *bytes.Buffer
	logMu        *sync.Mutex
	env          map[string]string
	mu           sync.Mutex
	markNew      bool
	knownHealthy map[string]bool
}

func newWorld(t testing.TB) *world {
	t.Helper()
	return newWorldWithEdge(t, sandbox.EdgeOptions{})
}

// newWorldWithEdge is newWorld with the sandbox's workers.dev edge as given (fake when zero).
func newWorldWithEdge(t testing.TB, edge sandbox.EdgeOptions) *world {
	t.Helper()
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo)
	w := &world{ws: testrepo.Copy(t, repo, testrepo.Options{}), reqLog: &bytes.Buffer{}, logMu: &sync.Mutex{}, env: map[string]string{}, knownHealthy: map[string]bool{}}
	var accts []sandbox.Account
	for _, tn := range tenants {
		kv, vec := sandboxhost.TenantResources(w.ws, tn.name)
		accts = append(accts, sandbox.Account{ID: tn.account, Name: tn.name, Subdomain: tn.subdomain, Token: tn.token, KVNamespaces: kv, VectorizeIndexes: vec})
		w.env["CLOUDFLARE_API_TOKEN_"+strings.ToUpper(tn.name)] = tn.token
	}
	sb, err := sandbox.New(sandbox.Options{Accounts: accts, RequestLog: lockedWriter{w.logMu, w.reqLog}, Edge: edge, Observe: cfcontract.Observer[sandbox.Exchange](t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sb.Close(); err != nil {
			t.Error(err)
		}
	})
	w.sb = sb
	w.srv = httptest.NewServer(sb.Handler())
	t.Cleanup(w.srv.Close)
	toEdge := sandboxctl.EdgeTransport(w.srv.URL, http.DefaultTransport)
	w.client = &http.Client{Timeout: 10 * time.Second, Transport: rt(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Hostname(), ".workers.dev") {
			w.maybeMarkUnhealthy(r.Context(), r.URL.Hostname())
		}
		return toEdge.RoundTrip(r)
	})}
	return w
}

type rt func(*http.Request) (*http.Response, error)

func (f rt) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// maybeMarkUnhealthy plays "the sandbox marks the new version unhealthy": while markNew is
// set, whatever version is live and not known to be good answers 503.
func (w *world) maybeMarkUnhealthy(ctx context.Context, host string) {
	w.mu.Lock()
	mark := w.markNew
	w.mu.Unlock()
	if !mark {
		return
	}
	for _, tn := range tenants {
		if !strings.HasSuffix(host, "."+tn.subdomain+".workers.dev") {
			continue
		}
		worker := strings.TrimSuffix(host, "."+tn.subdomain+".workers.dev")
		live, err := w.api(tn.name).LiveDeployment(ctx, worker)
		if err == nil {
			v := live.Primary().VersionID
			w.mu.Lock()
			known := w.knownHealthy[v]
			w.mu.Unlock()
			if !known {
				w.sb.MarkUnhealthy(v)
			}
		}
	}
}

func (w *world) api(tenantName string) *cfapi.Client {
	for _, tn := range tenants {
		if tn.name == tenantName {
			c, err := cfapi.New(cfapi.Config{BaseURL: w.srv.URL + "/client/v4", Token: tn.token, AccountID: tn.account, Budget: cfapi.Budget{Requests: -1}})
			if err != nil {
				panic(err)
			}
			return c
		}
	}
	panic("unknown tenant " + tenantName)
}

func (w *world) opts(t testing.TB, tenantName, env string, progress io.Writer) Options {
	v, err := validate.New(w.ws, nil, validate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if progress == nil {
		progress = io.Discard
	}
	e, err := tenant.ParseEnv(env)
	if err != nil {
		// Unparsed on purpose: TestDeployUnknownTenantOrEnvChangesNothing hands Run a request
		// no parser lets through, and Run must still refuse it before any side effect.
		e = tenant.Env(env)
	}
	return Options{
		Workspace: w.ws, Tenant: tenant.Name(tenantName), Env: e, APIBaseURL: w.srv.URL + "/client/v4", HTTPClient: w.client,
		Lookup:         func(k string) (string, bool) { v, ok := w.env[k]; return v, ok },
		Validate:       ValidateWith(v),
		HealthDeadline: 4 * time.Second, Progress: progress,
		Log: slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

func (w *world) versions(t testing.TB, tenantName, worker string) int {
	t.Helper()
	vs, err := w.api(tenantName).Versions(context.Background(), worker, 0)
	if err != nil {
		if errors.Is(err, cfapi.ErrNotFound) {
			return 0
		}
		t.Fatal(err)
	}
	return len(vs)
}

func (w *world) live(t testing.TB, tenantName, worker string) string {
	t.Helper()
	d, err := w.api(tenantName).LiveDeployment(context.Background(), worker)
	if err != nil {
		t.Fatal(err)
	}
	return d.Primary().VersionID
}

// bumpCode changes the Worker's code so that the bundle differs.
func (w *world) bumpCode(t testing.TB, marker string) {
	t.Helper()
	w.appendCode(t, "\nexport const buildMarker_"+marker+" = \""+marker+"\";\n")
}

// appendCode appends src to the Worker's entry module.
func (w *world) appendCode(t testing.TB, src string) {
	t.Helper()
	p := filepath.Join(w.ws.WorkerDir(), "src", "index.ts")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, append(b, src...), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDeployLifecycle(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	const tn, worker = "mrrainbowsmoke", "mrrainbowsmoke-api-staging"
	var progress bytes.Buffer

	// 1. First deploy: succeeded, and the record names the version the sandbox serves.
	out, err := Run(ctx, w.opts(t, tn, "staging", &progress))
	if err != nil {
		t.Fatalf("first deploy: %v\n%s", err, progress.String())
	}
	v1 := w.live(t, tn, worker)
	if out.Record.Status != history.StatusSucceeded || out.Record.VersionID != v1 || out.Record.PreviousVersionID != "" {
		t.Fatalf("record %+v, sandbox live %s", out.Record, v1)
	}
	if out.Record.Health == nil || !out.Record.Health.OK || out.Record.Health.SeenVersion != v1 {
		t.Fatalf("health not verified in record: %+v", out.Record.Health)
	}
	for _, s := range []string{"resolve", "validate", "credentials", "build", "fingerprint", "plan", "lock", "deploy", "verify", "annotate"} {
		if !strings.Contains(progress.String(), " "+s+" ") {
			t.Errorf("step %s not reported:\n%s", s, progress.String())
		}
	}
	w.mu.Lock()
	w.knownHealthy[v1] = true
	w.mu.Unlock()
	if _, err := os.Stat(out.RecordFile); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(lock.Path(filepath.Join(w.ws.StateDir(), "locks"), tn, "staging")); !os.IsNotExist(err) {
		t.Fatalf("lock not released: %v", err)
	}
	// Its required secrets: a later deploy's preflight refuses an existing Worker without them.
	if !slices.Equal(out.Record.MissingSecrets, []string{"AI_GATEWAY_TOKEN", "WEBHOOK_SIGNING_KEY"}) ||
		!strings.Contains(progress.String(), "warning: first deploy of mrrainbowsmoke-api-staging: required secrets AI_GATEWAY_TOKEN, WEBHOOK_SIGNING_KEY are not set yet") {
		t.Fatalf("first deploy: missing secrets %v not recorded or not warned:\n%s", out.Record.MissingSecrets, progress.String())
	}
	w.setSecrets(t, tn, worker)
	n1 := w.versions(t, tn, worker)

	// 2. Again, unchanged tree: unchanged, no new version.
	out, err = Run(ctx, w.opts(t, tn, "staging", nil))
	if err != nil || out.Record.Status != history.StatusUnchanged {
		t.Fatalf("redeploy: %v %s", err, out.Record.Status)
	}
	if n := w.versions(t, tn, worker); n != n1 {
		t.Fatalf("unchanged redeploy created versions: %d -> %d", n1, n)
	}
	// -force deploys anyway.
	o := w.opts(t, tn, "staging", nil)
	o.Force = true
	if out, err = Run(ctx, o); err != nil || out.Record.Status != history.StatusSucceeded || w.versions(t, tn, worker) != n1+1 {
		t.Fatalf("forced redeploy: %v %s", err, out.Record.Status)
	}
	vForced := w.live(t, tn, worker)
	w.mu.Lock()
	w.knownHealthy[vForced] = true
	w.mu.Unlock()

	// 3. Code change: a new version goes live. A dry run first plans it and changes nothing.
	w.bumpCode(t, "two")
	o = w.opts(t, tn, "staging", nil)
	o.DryRun = true
	out, err = Run(ctx, o)
	if err != nil || out.Plan.Unchanged || out.RecordFile != "" || w.live(t, tn, worker) != vForced {
		t.Fatalf("dry run: %v %+v", err, out.Plan)
	}
	out, err = Run(ctx, w.opts(t, tn, "staging", nil))
	v2 := w.live(t, tn, worker)
	if err != nil || v2 == vForced || out.Record.VersionID != v2 || out.Record.PreviousVersionID != vForced {
		t.Fatalf("code change: %v, record %s prev %s, live %s", err, out.Record.VersionID, out.Record.PreviousVersionID, v2)
	}
	w.mu.Lock()
	w.knownHealthy[v2] = true
	w.mu.Unlock()

	// 4. The new version answers unhealthy: exit 1, rolled back, the previous version live.
	w.bumpCode(t, "three")
	w.mu.Lock()
	w.markNew = true
	w.mu.Unlock()
	out, err = Run(ctx, w.opts(t, tn, "staging", nil))
	w.mu.Lock()
	w.markNew = false
	w.mu.Unlock()
	if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusRolledBack {
		t.Fatalf("unhealthy: err %v status %s (%s)", err, out.Record.Status, out.Record.Error)
	}
	if got := w.live(t, tn, worker); got != v2 {
		t.Fatalf("after rollback %s is live, want %s", got, v2)
	}
	if out.Record.Health == nil || out.Record.Health.OK {
		t.Fatalf("record health should show the failed check: %+v", out.Record.Health)
	}

	// 5. 500 on the schedules PUT after the upload: rolled back likewise.
	w.bumpCode(t, "four")
	w.sb.AddFault(sandbox.Fault{Method: "PUT", Path: "/accounts/*/workers/scripts/*/schedules", Status: 500, Code: 10013, Count: 1, Message: "schedules broke"})
	out, err = Run(ctx, w.opts(t, tn, "staging", nil))
	w.sb.ClearFaults()
	if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusRolledBack {
		t.Fatalf("schedules 500: err %v status %s (%s)", err, out.Record.Status, out.Record.Error)
	}
	if got := w.live(t, tn, worker); got != v2 {
		t.Fatalf("after schedules failure %s is live, want %s", got, v2)
	}

	// The records chain and verify.
	if probs, err := history.Verify(w.ws.DeploymentsDir()); err != nil || len(probs) != 0 {
		t.Fatalf("records do not verify: %v %v", probs, err)
	}
}

func TestDeployMissingTokenUploadsNothing(t *testing.T) {
	w := newWorld(t)
	delete(w.env, "CLOUDFLARE_API_TOKEN_RAINBOWSMOKEOFFICIAL")
	out, err := Run(context.Background(), w.opts(t, "rainbowsmokeofficial", "prod", nil))
	if err == nil || !strings.Contains(err.Error(), "CLOUDFLARE_API_TOKEN_RAINBOWSMOKEOFFICIAL") || !strings.Contains(err.Error(), ".env.deploy") {
		t.Fatalf("err = %v, want one naming the variable and the file", err)
	}
	if out.Record.Status != history.StatusFailed || out.Record.Env != "production" {
		t.Fatalf("record %+v", out.Record)
	}
	if n := w.versions(t, "rainbowsmokeofficial", "rainbowsmokeofficial-api"); n != 0 {
		t.Fatalf("%d versions uploaded without a token", n)
	}
	if _, err := os.Stat(w.ws.BuildDir()); !os.IsNotExist(err) {
		t.Fatalf("something was built before the credentials check: %v", err)
	}
	// A dry run is not an attempt: failing the same way, it leaves no record.
	recs, _ := history.Open(w.ws.DeploymentsDir()).List("rainbowsmokeofficial", "production")
	o := w.opts(t, "rainbowsmokeofficial", "production", nil)
	o.DryRun = true
	if _, err := Run(context.Background(), o); err == nil {
		t.Fatal("dry run without a token succeeded")
	}
	if again, _ := history.Open(w.ws.DeploymentsDir()).List("rainbowsmokeofficial", "production"); len(again) != len(recs) {
		t.Fatalf("dry run wrote a record (%d -> %d)", len(recs), len(again))
	}
}

func TestDeployUnknownTenantOrEnvChangesNothing(t *testing.T) {
	w := newWorld(t)
	for _, c := range [][2]string{{"nosuch", "staging"}, {"../etc", "staging"}, {"mrrainbowsmoke", "qa"}} {
		_, err := Run(context.Background(), w.opts(t, c[0], c[1], nil))
		if err == nil {
			t.Fatalf("%v: no error", c)
		}
	}
	if _, err := os.Stat(w.ws.DeploymentsDir()); !os.IsNotExist(err) {
		t.Fatal("a record was written for a request that never resolved")
	}
}

func TestDeployConcurrency(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	// Same tenant/env while another process holds the lock: refused at once, naming the holder.
	held, err := lock.Acquire(filepath.Join(w.ws.StateDir(), "locks"), "mrrainbowsmoke", "staging", lock.Options{Command: "deploy:tenant mrrainbowsmoke staging (other)"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(ctx, w.opts(t, "mrrainbowsmoke", "staging", nil))
	var he *lock.HeldError
	if !errors.As(err, &he) && !strings.Contains(out.Record.Error, "being deployed by pid") {
		t.Fatalf("second deploy not refused by the lock: %v / %s", err, out.Record.Error)
	}
	if w.versions(t, "mrrainbowsmoke", "mrrainbowsmoke-api-staging") != 0 {
		t.Fatal("refused deploy uploaded")
	}
	held.Release()

	// Two tenants at once: both succeed; no token crosses over.
	var wg sync.WaitGroup
	var progress [2]bytes.Buffer
	errs := make([]error, 2)
	outs := make([]Outcome, 2)
	for i, tn := range tenants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = Run(ctx, w.opts(t, tn.name, "staging", &progress[i]))
		}()
	}
	wg.Wait()
	for i := range tenants {
		if errs[i] != nil || outs[i].Record.Status != history.StatusSucceeded {
			t.Fatalf("%s: %v %s\n%s", tenants[i].name, errs[i], outs[i].Record.Status, progress[i].String())
		}
	}
	// Canaries: never in output, records or wrangler logs; each token only in its own
	// tenant's requests (the sandbox logs which account a request was for, never the token).
	var scan []string
	scan = append(scan, progress[0].String(), progress[1].String())
	for _, o := range outs {
		js, _ := json.Marshal(o)
		scan = append(scan, summary(o, time.Second), string(js)) // what stdout shows, as text or -json
	}
	filepath.WalkDir(w.ws.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() && d.Name() == "node_modules" {
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && (strings.HasPrefix(p, w.ws.DeploymentsDir()) || strings.HasPrefix(p, filepath.Join(w.ws.StateDir(), "runs"))) {
			b, _ := os.ReadFile(p)
			scan = append(scan, string(b))
		}
		return nil
	})
	w.logMu.Lock()
	scan = append(scan, w.reqLog.String())
	w.logMu.Unlock()
	if len(scan) < 6 {
		t.Fatalf("scanned only %d places", len(scan))
	}
	for _, s := range scan {
		for _, tn := range tenants {
			if strings.Contains(s, tn.token) {
				t.Fatalf("canary token of %s leaked: ...%s...", tn.name, around(s, tn.token))
			}
		}
	}
}

func around(s, sub string) string {
	i := strings.Index(s, sub)
	return s[max(0, i-200):min(len(s), i+len(sub)+50)]
}

// progressHook calls fn once when a progress line contains trigger.
type progressHook struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	trigger string
	fn      func()
	done    bool
}

func (p *progressHook) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	if !p.done && strings.Contains(p.buf.String(), p.trigger) {
		p.done = true
		go p.fn()
	}
	return len(b), nil
}

// processesIn lists live processes whose working directory is under dir.
func processesIn(dir string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && strings.HasPrefix(cwd, dir) {
			cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
	return out
}

func TestDeployInterrupted(t *testing.T) {
	w := newWorld(t)
	// The upload hangs, so the interrupt lands while wrangler is deploying.
	w.sb.AddFault(sandbox.Fault{Path: "/accounts/*/workers/scripts/*", Method: "PUT", Latency: 4 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelledAt time.Time
	var mu sync.Mutex
	hook := &progressHook{trigger: " lock ", fn: func() {
		time.Sleep(time.Second)
		mu.Lock()
		cancelledAt = time.Now()
		mu.Unlock()
		cancel()
	}}
	out, err := Run(ctx, w.opts(t, "mrrainbowsmoke", "staging", hook))
	mu.Lock()
	stopTook := time.Since(cancelledAt)
	mu.Unlock()
	if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusInterrupted {
		t.Fatalf("err %v, status %s (%s)", err, out.Record.Status, out.Record.Error)
	}
	// wrangler gets SIGTERM, then SIGKILL after the runner's grace period.
	if stopTook > 8*time.Second {
		t.Fatalf("stopping took %s after the interrupt", stopTook)
	}
	if _, err := os.Stat(out.RecordFile); err != nil {
		t.Fatalf("no interrupted record: %v", err)
	}
	if _, err := os.Stat(lock.Path(filepath.Join(w.ws.StateDir(), "locks"), "mrrainbowsmoke", "staging")); !os.IsNotExist(err) {
		t.Fatalf("lock left behind: %v", err)
	}
	if ps := processesIn(w.ws.Root); len(ps) > 0 {
		t.Fatalf("wrangler processes left running: %v", ps)
	}
}

func TestProductionDeployLeavesATag(t *testing.T) {
	w := newWorld(t)
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", w.ws.Root, "-c", "user.name=Test", "-c", "user.email=test@example.com"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", "tenants", "apps")
	git("commit", "-q", "-m", "tenants")
	head := git("rev-parse", "HEAD")
	out, err := Run(context.Background(), w.opts(t, "rainbowsmokeofficial", "prod", nil))
	if err != nil {
		t.Fatal(err)
	}
	if out.Record.GitSHA != head || out.Tag == "" || !strings.HasPrefix(out.Tag, "deploy/rainbowsmokeofficial/production/") {
		t.Fatalf("record git %q (HEAD %s), tag %q", out.Record.GitSHA, head, out.Tag)
	}
	if got := git("rev-list", "-n", "1", out.Tag); got != head {
		t.Fatalf("tag points at %s, want %s", got, head)
	}
	if msg := git("tag", "-l", "--format=%(contents)", out.Tag); !strings.Contains(msg, out.Record.VersionID) {
		t.Fatalf("tag message does not name the version: %s", msg)
	}
	// Staging deploys and unchanged redeploys leave no tag.
	if out, err := Run(context.Background(), w.opts(t, "rainbowsmokeofficial", "staging", nil)); err != nil || out.Tag != "" {
		t.Fatalf("staging: %v, tag %q", err, out.Tag)
	}
}

// setSecrets sets the tenant's required secrets on its deployed Worker the way
// secrets:put does, so that the next deploy's preflight finds them; the version this creates
// is known to be healthy.
func (w *world) setSecrets(t testing.TB, tenantName, worker string) {
	t.Helper()
	vals := []secrets.Value{{Name: "AI_GATEWAY_TOKEN", Value: "v-ai-" + tenantName}, {Name: "WEBHOOK_SIGNING_KEY", Value: "v-wh-" + tenantName}}
	res, err := secrets.Put(context.Background(), w.api(tenantName), worker, vals)
	if err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	w.knownHealthy[res.VersionID] = true
	w.mu.Unlock()
}
