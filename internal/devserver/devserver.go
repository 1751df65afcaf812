package devserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/health"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// Server is what a pidfile says about one running dev server.
type Server struct {
	Tenant    string    `json:"tenant"`
	PID       int       `json:"pid"`
	Port      int       `json:"port"`
	URL       string    `json:"url"`
	LogPath   string    `json:"log"`
	StartedAt time.Time `json:"started_at"`
	// Alive is filled by List: the process is still there.
	Alive bool `json:"alive"`
}

// Options configure Start.
type Options struct {
	Workspace workspace.Workspace
	Tenant    string
	// Port overrides the tenant's dev.port (tests).
	Port int
	// Deadline for the first healthy answer; zero means the tenant's health deadline (60 s
	// when unset): the first start compiles the Worker and boots workerd.
	Deadline time.Duration
	Runner   wrangler.Runner
	Log      *slog.Logger
	// Progress receives one line per stage; nil discards.
	Progress io.Writer
}

// Dir is where pidfiles, logs and local state of dev servers live.
func Dir(ws workspace.Workspace) string { return filepath.Join(ws.StateDir(), "dev") }

func pidfile(ws workspace.Workspace, name string) string {
	return filepath.Join(Dir(ws), name+".json")
}

// devArgs run wrangler dev offline: --local keeps the AI binding from opening a remote proxy
// session (which needs a token); NODE_ENV=test stops Miniflare fetching request.cf data.
var (
	devArgs = []string{"--local"}
	devEnv  = []string{"NODE_ENV=test"}
)

// Start runs the tenant's Worker locally, replacing a running one, and waits until it is
// healthy. It returns the server and the record written; on a failed start the server is
// stopped and the error carries the tail of wrangler's log.
func Start(ctx context.Context, opts Options) (Server, history.Record, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	ws := opts.Workspace
	if opts.Runner.Bin == "" {
		opts.Runner = wrangler.New(ws, log)
	}
	t, err := tenant.Load(ctx, ws, opts.Tenant)
	if err != nil {
		return Server{}, history.Record{}, fmt.Errorf("dev %s: %w", opts.Tenant, err)
	}
	r, err := t.Resolve(tenant.Dev)
	if err != nil {
		return Server{}, history.Record{}, fmt.Errorf("dev %s: %w", opts.Tenant, err)
	}
	port := opts.Port
	if port == 0 {
		port = t.Config.Dev.Port
	}
	if port == 0 {
		return Server{}, history.Record{}, fmt.Errorf("dev %s: no dev.port in %s; add one (8787, 8788, ...)", t.Name, t.ConfigPath())
	}
	started := time.Now().UTC()
	prov := history.Find(ctx, ws.Root, nil)
	rec := history.Record{Kind: history.KindDeploy, Tenant: t.Name, Env: string(tenant.Dev), WorkerName: r.WorkerName,
		AccountID: r.AccountID, Actor: prov.Actor, GitSHA: prov.GitSHA, GitDirty: prov.GitDirty,
		WranglerVersion: wrangler.PinnedVersion, StartedAt: started}
	step := func(name string, start time.Time, err error) {
		rec.Steps = append(rec.Steps, history.Step{Name: name, Start: start.UTC(), DurationMS: time.Since(start).Milliseconds()})
		mark := "ok"
		if err != nil {
			mark = "FAILED"
		}
		fmt.Fprintf(progress, "dev %s: %-8s %-6s %s\n", t.Name, name, mark, time.Since(start).Round(time.Millisecond))
	}
	fail := func(err error) (Server, history.Record, error) {
		rec.Status, rec.Error, rec.FinishedAt = history.StatusFailed, err.Error(), time.Now().UTC()
		if _, werr := history.Open(ws.DeploymentsDir()).Write(rec); werr != nil {
			err = errors.Join(err, werr)
		}
		return Server{}, rec, fmt.Errorf("dev %s: %w", t.Name, err)
	}

	s := time.Now()
	stopped, err := stopOne(ctx, ws, t.Name)
	step("replace", s, err)
	if err != nil {
		return fail(err)
	}
	if stopped {
		log.Info("stopped the running dev server", "tenant", t.Name)
	}
	if err := portFree(port); err != nil {
		return fail(fmt.Errorf("port %d is taken by another program (%w); stop it or change dev.port in %s", port, err, t.ConfigPath()))
	}

	s = time.Now()
	dir := filepath.Join(Dir(ws), t.Name)
	logPath := filepath.Join(Dir(ws), t.Name+".log")
	_ = os.Remove(logPath) // one log per run: the tail shown on failure must be this run's
	cmd, err := opts.Runner.Dev(ctx, wrangler.Invocation{ConfigPath: t.WranglerPath(), ScratchDir: dir},
		wrangler.DevOptions{Port: port, LogPath: logPath, PersistTo: filepath.Join(dir, "persist"), ExtraArgs: devArgs, ExtraEnv: devEnv})
	step("start", s, err)
	if err != nil {
		return fail(err)
	}
	srv := Server{Tenant: t.Name, PID: cmd.Process.Pid, Port: port, URL: fmt.Sprintf("http://127.0.0.1:%d", port), LogPath: logPath, StartedAt: started}
	if err := writePidfile(ws, srv); err != nil {
		_ = wrangler.StopGroup(context.WithoutCancel(ctx), srv.PID, 0)
		return fail(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()

	s = time.Now()
	hctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-exited:
			cancel()
		case <-hctx.Done():
		}
	}()
	deadline := opts.Deadline
	if deadline == 0 {
		deadline = max(t.Config.HealthCheck.Deadline(), 60*time.Second)
	}
	expect := map[string]any{"tenant": t.Config.TenantID}
	for k, v := range t.Config.HealthCheck.Expect {
		expect[k] = v
	}
	res, err := health.Wait(hctx, health.Check{URL: srv.URL + t.Config.HealthCheck.Path, Expect: expect, Deadline: deadline,
		Client: &http.Client{Timeout: 5 * time.Second}, FirstBackoff: 200 * time.Millisecond, MaxBackoff: time.Second})
	cancel()
	step("health", s, err)
	rec.URL, rec.VersionID = res.URL, res.SeenVersion
	rec.Health = &history.Health{URL: res.URL, SeenVersion: res.SeenVersion, StatusCode: res.StatusCode, Attempts: res.Attempts, OK: res.OK}
	if err != nil {
		select {
		case <-exited:
			err = fmt.Errorf("wrangler dev exited before answering healthy; its log (%s) ends:\n%s", logPath, logTail(logPath, 15))
		default:
			err = fmt.Errorf("%w; wrangler dev log (%s) ends:\n%s", err, logPath, logTail(logPath, 15))
		}
		_ = wrangler.StopGroup(context.WithoutCancel(ctx), srv.PID, 0)
		_ = os.Remove(pidfile(ws, t.Name))
		return fail(err)
	}
	rec.Status, rec.FinishedAt = history.StatusSucceeded, time.Now().UTC()
	if _, err := history.Open(ws.DeploymentsDir()).Write(rec); err != nil {
		return srv, rec, fmt.Errorf("dev %s: running at %s, but the record failed: %w", t.Name, srv.URL, err)
	}
	srv.Alive = true
	return srv, rec, nil
}

func portFree(port int) error {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	return l.Close()
}

func writePidfile(ws workspace.Workspace, s Server) error {
	if err := os.MkdirAll(Dir(ws), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	tmp := pidfile(ws, s.Tenant) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, pidfile(ws, s.Tenant))
}

// List returns every dev server with a pidfile, sorted by tenant, with Alive filled.
func List(ws workspace.Workspace) ([]Server, error) {
	des, err := os.ReadDir(Dir(ws))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Server
	for _, de := range des {
		if !strings.HasSuffix(de.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(Dir(ws), de.Name()))
		if err != nil {
			return nil, err
		}
		var s Server
		if json.Unmarshal(b, &s) != nil || s.Tenant+".json" != de.Name() {
			continue
		}
		s.Alive = ours(s)
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Server) int { return strings.Compare(a.Tenant, b.Tenant) })
	return out, nil
}

// ours reports whether s.PID is still a wrangler dev started for s.Tenant: after a reboot the
// pid may belong to anything else, which must never be signalled.
func ours(s Server) bool {
	if s.PID <= 1 || syscall.Kill(s.PID, 0) != nil {
		return false
	}
	// /proc on Linux, ps on macOS (sandboxctl.Cmdline).
	c, err := sandboxctl.Cmdline(s.PID)
	if err != nil {
		return false
	}
	return strings.Contains(c, "wrangler") && strings.Contains(c, string(filepath.Separator)+s.Tenant+string(filepath.Separator))
}

// Stop stops the dev server of target (a tenant name, or "all") and returns the tenants
// stopped. Stale pidfiles are removed without signalling anything.
func Stop(ctx context.Context, ws workspace.Workspace, target string) ([]string, error) {
	servers, err := List(ws)
	if err != nil {
		return nil, err
	}
	var stopped []string
	var errs []error
	for _, s := range servers {
		if target != "all" && s.Tenant != target {
			continue
		}
		ok, err := stopOne(ctx, ws, s.Tenant)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			stopped = append(stopped, s.Tenant)
		}
	}
	return stopped, errors.Join(errs...)
}

func stopOne(ctx context.Context, ws workspace.Workspace, name string) (bool, error) {
	b, err := os.ReadFile(pidfile(ws, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var s Server
	if err := json.Unmarshal(b, &s); err != nil {
		return false, errors.Join(fmt.Errorf("pidfile %s is damaged: %w", pidfile(ws, name), err), os.Remove(pidfile(ws, name)))
	}
	alive := ours(s)
	if alive {
		if err := wrangler.StopGroup(ctx, s.PID, 5*time.Second); err != nil {
			return false, fmt.Errorf("stopping the dev server of %s (pid %d): %w", name, s.PID, err)
		}
	}
	if err := os.Remove(pidfile(ws, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return alive, err
	}
	return alive, nil
}

func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(wrangler.StripANSI(string(b)), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
