package sandboxctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Status is what sandbox:status reports.
type Status struct {
	Running    bool      `json:"running"`
	PID        int       `json:"pid,omitempty"`
	URL        string    `json:"url,omitempty"`
	APIBaseURL string    `json:"api_base_url,omitempty"`
	Started    time.Time `json:"started,omitzero"`
	State      string    `json:"state"`
	RequestLog string    `json:"request_log"`
	ServerLog  string    `json:"server_log"`
	Edge       string    `json:"edge,omitempty"` // how workers.dev answers: workerd or fake
	// Detail is the sandbox's own GET /__sandbox/status answer while it runs.
	Detail json.RawMessage `json:"detail,omitempty"`
}

// WriteJSON writes the status as one indented JSON document (sandbox:status -json=true).
func (st Status) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(st)
}

// controlTimeout bounds every call to the control API: it is on loopback, so a slow answer
// means a wedged process, not a busy network.
const controlTimeout = 3 * time.Second

var controlClient = &http.Client{Timeout: controlTimeout}

// running returns the runtime of a sandbox of ws that is alive and answering, or ok=false.
func running(ctx context.Context, ws workspace.Workspace) (Runtime, json.RawMessage, bool, error) {
	paths := PathsFor(ws)
	rt, ok, err := readRuntime(paths.Runtime)
	if err != nil || !ok {
		return Runtime{}, nil, false, err
	}
	if rt.Root != ws.Root || (!rt.Attached && !alive(rt.PID)) {
		return Runtime{}, nil, false, nil
	}
	detail, err := control(ctx, rt, http.MethodGet, "/__sandbox/status", nil)
	if err != nil {
		return Runtime{}, nil, false, nil
	}
	return rt, detail, true, nil
}

// alive reports whether pid is a live process (signal 0 checks without touching it).
func alive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

// control calls the sandbox's control API and returns the answer's body.
func control(ctx context.Context, rt Runtime, method, path string, body any) (json.RawMessage, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, rt.URL+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := controlClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sandbox control %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("sandbox control %s %s: %w", method, path, err)
	}
	if res.StatusCode >= 300 {
		return nil, fmt.Errorf("sandbox control %s %s: HTTP %d: %s", method, path, res.StatusCode, strings.TrimSpace(string(data)))
	}
	return data, nil
}

// GetStatus reports whether the checkout's sandbox runs, where, and what it holds.
func GetStatus(ctx context.Context, ws workspace.Workspace) (Status, error) {
	paths := PathsFor(ws)
	st := Status{State: paths.State, RequestLog: paths.RequestLog, ServerLog: paths.ServerLog}
	rt, detail, ok, err := running(ctx, ws)
	if err != nil || !ok {
		return st, err
	}
	st.Running, st.PID, st.URL, st.APIBaseURL, st.Started, st.Detail = true, rt.PID, rt.URL, rt.APIBaseURL(), rt.Started, detail
	st.Edge = rt.Edge
	return st, nil
}

// StartOptions tune Start; the zero value is right for operators.
type StartOptions struct {
	// Addr to listen on; default 127.0.0.1:0 (a free port, reported in the runtime file).
	Addr string
	// Wait is how long to wait for the process to listen; default 30 s (the first start
	// compiles cf-sandbox).
	Wait time.Duration
	// Binary is a prebuilt cf-sandbox to run instead of building one into .state/bin; tests
	// use it to run a sandbox for a scratch checkout that has no Go sources.
	Binary string
	// Edge is how workers.dev answers; "" means sandbox.EdgeWorkerd (run the uploaded code).
	Edge sandbox.EdgeMode
}

// Start builds cf-sandbox (cached by the Go build cache) and starts it detached in its own
// session, so it outlives the caller. When the checkout's sandbox already runs it returns
// its status and changes nothing.
func Start(ctx context.Context, ws workspace.Workspace, log *slog.Logger, opts StartOptions) (Status, bool, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := checkLoopback(addr); err != nil {
		return Status{}, false, err
	}
	paths := PathsFor(ws)
	if _, err := Accounts(ws); err != nil { // fail here, with the reason, not in a detached log
		return Status{}, false, err
	}
	if err := os.MkdirAll(paths.Dir, 0o755); err != nil {
		return Status{}, false, fmt.Errorf("sandbox start: %w", err)
	}
	// Two starts at once (two terminals, a script) would each spawn a sandbox and the
	// second runtime file would orphan the first process: starts queue on a file lock,
	// which the kernel drops if this process dies.
	unlock, err := lockFile(ctx, filepath.Join(paths.Dir, "start.lock"))
	if err != nil {
		return Status{}, false, err
	}
	defer unlock()
	if st, err := GetStatus(ctx, ws); err != nil || st.Running {
		return st, false, err
	}
	bin := opts.Binary
	if bin == "" {
		bin = paths.Binary
		if err := build(ctx, ws, log, bin); err != nil {
			return Status{}, false, err
		}
	}
	os.Remove(paths.Runtime) // a stale file from a dead process

	logf, err := os.OpenFile(paths.ServerLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return Status{}, false, fmt.Errorf("sandbox start: %w", err)
	}
	defer logf.Close()
	// Not CommandContext: the process must survive the end of this mage run.
	edge := opts.Edge
	if edge == "" {
		edge = sandbox.EdgeWorkerd
	}
	if edge == sandbox.EdgeWorkerd { // here, where a failure is seen, not in a detached log
		if err := npmdeps.Ensure(ctx, log, ws.Root); err != nil {
			return Status{}, false, fmt.Errorf("sandbox start: the workerd edge needs the node packages: %w", err)
		}
	}
	cmd := exec.Command(bin, "-root", ws.Root, "-addr", addr, "-edge", string(edge))
	cmd.Dir = ws.Root
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Env = sandboxEnv()
	if err := cmd.Start(); err != nil {
		return Status{}, false, fmt.Errorf("sandbox start: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	wait := opts.Wait
	if wait <= 0 {
		wait = 30 * time.Second
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return Status{}, false, fmt.Errorf("sandbox start: cf-sandbox exited at once (%v); see %s", err, rel(ws, paths.ServerLog))
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return Status{}, false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if rt, ok, _ := readRuntime(paths.Runtime); ok && rt.PID == cmd.Process.Pid {
			if st, err := GetStatus(ctx, ws); err == nil && st.Running {
				return st, true, nil
			}
		}
	}
	_ = cmd.Process.Kill()
	return Status{}, false, fmt.Errorf("sandbox start: cf-sandbox did not listen within %s; see %s", wait, rel(ws, paths.ServerLog))
}

// lockFile takes an exclusive flock on path, polling so that ctx can cancel the wait.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sandbox start: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("sandbox start: lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sandboxEnv keeps real Cloudflare credentials out of the sandbox process: it needs none.
func sandboxEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CLOUDFLARE_") || strings.HasPrefix(kv, "CF_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// build compiles cmd/cf-sandbox; the Go build cache makes a repeat a no-op relink.
func build(ctx context.Context, ws workspace.Workspace, log *slog.Logger, out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("sandbox start: %w", err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("sandbox start: the go command is not on PATH; it is needed to build cmd/cf-sandbox: %w", err)
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "./cmd/cf-sandbox")
	cmd.Dir = ws.Root
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("sandbox start: go build ./cmd/cf-sandbox: %w\n%s", err, buf.String())
	}
	log.Debug("built cf-sandbox", "path", out, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Stop ends the checkout's sandbox (SIGTERM, then SIGKILL after 5 s). It reports whether one
// was running; stopping a stopped sandbox is not an error.
func Stop(ctx context.Context, ws workspace.Workspace, log *slog.Logger) (bool, error) {
	paths := PathsFor(ws)
	rt, ok, err := readRuntime(paths.Runtime)
	if err != nil {
		return false, err
	}
	if !ok || rt.Attached || rt.Root != ws.Root || !alive(rt.PID) || !isSandboxProcess(rt.PID) {
		// An attached sandbox is another checkout's: stopping here only detaches.
		os.Remove(paths.Runtime)
		return false, nil
	}
	p, err := os.FindProcess(rt.PID)
	if err != nil {
		return false, err
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return false, fmt.Errorf("sandbox stop: signal pid %d: %w", rt.PID, err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if !alive(rt.PID) || isZombie(rt.PID) {
			os.Remove(paths.Runtime)
			return true, nil
		}
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	log.Warn("sandbox did not stop within 5 s; killing it", "pid", rt.PID)
	_ = p.Kill()
	os.Remove(paths.Runtime)
	return true, nil
}

// isSandboxProcess guards against signalling an unrelated process that reused the pid.
func isSandboxProcess(pid int) bool {
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return true // no /proc (macOS): the runtime file and signal 0 are all we have
	}
	return bytes.Contains(cmdline, []byte("cf-sandbox"))
}

// isZombie: a stopped child of this very process stays a zombie until reaped; it has exited.
func isZombie(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// Reset empties the sandbox's world (scripts, versions, secrets, triggers, faults) and keeps
// its accounts and tokens. A running sandbox is reset through its control API; a stopped one
// by rewriting its state file. The rehearsal records go too: they describe versions that no
// longer exist.
func Reset(ctx context.Context, ws workspace.Workspace) error {
	rt, _, ok, err := running(ctx, ws)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(PathsFor(ws).Records); err != nil {
		return fmt.Errorf("sandbox reset: removing rehearsal records: %w", err)
	}
	if !ok {
		if err := sandbox.ResetEdgeData(PathsFor(ws).Edge); err != nil {
			return err
		}
	}
	if ok {
		_, err := control(ctx, rt, http.MethodPost, "/__sandbox/reset", nil)
		return err
	}
	paths := PathsFor(ws)
	if _, err := os.Stat(paths.State); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	accounts, err := Accounts(ws)
	if err != nil {
		return err
	}
	srv, err := sandbox.New(sandbox.Options{StatePath: paths.State, Accounts: accounts})
	if err != nil {
		return err
	}
	return srv.Reset()
}
