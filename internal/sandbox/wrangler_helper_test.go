package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfcontract"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// Test accounts: two, so that a token used on the other account can be refused.
const (
	acctA = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
	acctB = "f9e8d7c6b5a443219876543210fedcba"
	subA  = "fixture-a"
	subB  = "fixture-b"
)

func testAccounts() []Account {
	return []Account{
		{ID: acctA, Name: "Fixture A", Subdomain: subA},
		{ID: acctB, Name: "Fixture B", Subdomain: subB},
	}
}

// newTestServer starts a sandbox on loopback for one test.
func newTestServer(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts.Accounts == nil {
		opts.Accounts = testAccounts()
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if opts.Observe == nil {
		// Every answer of every test here is judged by cloudflare-go's types when it ends.
		opts.Observe = cfcontract.Observer[Exchange](t)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// project is a copy of testdata/worker with the account filled in.
type project struct {
	dir    string
	config string
}

func newProject(t *testing.T, accountID string, migrations string) project {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("testdata", "worker")
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	p := project{dir: dir, config: filepath.Join(dir, "wrangler.jsonc")}
	p.rewrite(t, accountID, migrations)
	return p
}

// rewrite puts accountID in the config and, when migrations is set, replaces the staging
// migrations line with it.
func (p project) rewrite(t *testing.T, accountID, migrations string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "worker", "wrangler.jsonc"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.ReplaceAll(string(data), "ACCOUNT_ID", accountID)
	if migrations != "" {
		re := regexp.MustCompile(`(?m)^(\s*)"migrations": \[\{ "tag": "v1", "new_sqlite_classes": \["Counter"\] \}\],\n(\s*"vectorize")`)
		if !re.MatchString(cfg) {
			t.Fatal("fixture config changed: staging migrations line not found")
		}
		cfg = re.ReplaceAllString(cfg, `${1}"migrations": `+migrations+",\n$2")
	}
	if err := os.WriteFile(p.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

// wranglerResult is one wrangler run: its exit code, outputs (ANSI stripped) and ND-JSON entries.
type wranglerResult struct {
	exit    int
	stdout  string
	stderr  string
	entries []map[string]any
}

func (r wranglerResult) entry(typ string) map[string]any {
	for _, e := range r.entries {
		if e["type"] == typ {
			return e
		}
	}
	return nil
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// runWrangler runs the real wrangler in p.dir with an environment built from scratch: the
// sandbox as API, one token, metrics/banner/error reports off, update check seeded, its own
// HOME and TMPDIR, a fresh ND-JSON output file.
func runWrangler(t *testing.T, base, token string, p project, stdin string, args ...string) wranglerResult {
	t.Helper()
	bin := testrepo.Wrangler(t)
	run := testrepo.NewWranglerRun(t, strings.TrimSuffix(base, "/")+"/client/v4", token)
	out := run.Output
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "--config", p.config)...)
	cmd.Dir = p.dir
	cmd.Env = run.Env
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	res := wranglerResult{stdout: ansi.ReplaceAllString(so.String(), ""), stderr: ansi.ReplaceAllString(se.String(), "")}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.exit = ee.ExitCode()
	case err != nil:
		t.Fatalf("wrangler %v: %v", args, err)
	}
	if data, err := os.ReadFile(out); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var e map[string]any
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("wrangler %v: ND-JSON line %q: %v", args, sc.Text(), err)
			}
			res.entries = append(res.entries, e)
		}
	}
	return res
}

// mustWrangler runs wrangler and fails the test unless it exits 0.
func mustWrangler(t *testing.T, base, token string, p project, stdin string, args ...string) wranglerResult {
	t.Helper()
	res := runWrangler(t, base, token, p, stdin, args...)
	if res.exit != 0 {
		t.Fatalf("wrangler %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, res.exit, res.stdout, res.stderr)
	}
	return res
}

// requestLog collects the sandbox's request log lines for assertions about which calls came.
type requestLog struct {
	mu    sync.Mutex
	lines []requestLogLine
}

func (l *requestLog) Write(p []byte) (int, error) {
	var line requestLogLine
	if err := json.Unmarshal(p, &line); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	return len(p), nil
}

// count is how many logged requests have method and a path ending in suffix (and, when
// query is not "", exactly that query).
func (l *requestLog) count(method, suffix, query string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, x := range l.lines {
		if x.Method == method && strings.HasSuffix(x.Path, suffix) && (query == "" || x.Query == query) {
			n++
		}
	}
	return n
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = nil
}

func (l *requestLog) all() []requestLogLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]requestLogLine(nil), l.lines...)
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }

// redeployViaAPI uploads the live version's code and bindings again as a new version and
// deploys it at 100%, the calls `wrangler deploy` makes on its versions path. Tests whose
// subject is a later command use it to build history without paying for more wrangler runs.
func redeployViaAPI(t *testing.T, s *Server, base, accountID, script string) string {
	t.Helper()
	live, found := s.Live(accountID, script)
	if !found {
		t.Fatalf("redeploy %s: nothing deployed", script)
	}
	v, _ := s.Version(accountID, script, live.Versions[0].VersionID)
	mods := map[string]string{}
	for _, m := range v.Modules {
		mods[m.Name] = string(m.Data)
	}
	meta := map[string]any{"main_module": v.MainModule, "bindings": v.Bindings, "compatibility_date": v.CompatibilityDate, "compatibility_flags": v.CompatibilityFlags}
	c := apiClient{t: t, base: base, token: s.Token(accountID)}
	ct, body := upload(t, meta, mods)
	var res struct{ ID string }
	ok(t, c.do("POST", "/accounts/"+accountID+"/workers/scripts/"+script+"/versions", ct, body)).into(t, &res)
	ok(t, c.json("POST", "/accounts/"+accountID+"/workers/scripts/"+script+"/deployments",
		map[string]any{"strategy": "percentage", "versions": []DeploymentVersion{{res.ID, 100}}, "annotations": map[string]string{}}))
	return res.ID
}
