package sandboxctl

import (
	"bytes"
	"context"
	"encoding/json"
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
	rt, ok, err := ReadRuntime(paths.Runtime)
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

// Build compiles cmd/cf-sandbox into out; the Go build cache makes a repeat a no-op relink.
// Every sandbox:* target runs the sandbox through that binary, so the mage binary does not
// link the emulator.
func Build(ctx context.Context, ws workspace.Workspace, log *slog.Logger, out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("sandbox: the go command is not on PATH; it is needed to build cmd/cf-sandbox: %w", err)
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, "./cmd/cf-sandbox")
	cmd.Dir = ws.Root
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("sandbox: go build ./cmd/cf-sandbox: %w\n%s", err, buf.String())
	}
	log.Debug("built cf-sandbox", "path", out, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Stop ends the checkout's sandbox (SIGTERM, then SIGKILL after 5 s). It reports whether one
// was running; stopping a stopped sandbox is not an error.
func Stop(ctx context.Context, ws workspace.Workspace, log *slog.Logger) (bool, error) {
	paths := PathsFor(ws)
	rt, ok, err := ReadRuntime(paths.Runtime)
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
		if !Running(rt.PID) {
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
	cmdline, err := Cmdline(pid)
	if err != nil {
		return true // neither /proc nor ps answered: the runtime file and signal 0 are all we have
	}
	return strings.Contains(cmdline, "cf-sandbox")
}

// Running reports whether pid is a process that has not exited: alive, and not a zombie
// waiting to be reaped.
func Running(pid int) bool { return alive(pid) && !isZombie(pid) }

// isZombie: a stopped child of this very process stays a zombie until reaped; it has exited.
func isZombie(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// ResetRunning empties a running sandbox's world (scripts, versions, secrets, triggers,
// faults) through its control API and keeps its accounts and tokens; it removes the
// rehearsal records either way: they describe versions that no longer exist. It reports
// whether a sandbox was running; a stopped one is reset by rewriting its state file, which
// needs the emulator (sandboxhost.Reset, in cf-sandbox).
func ResetRunning(ctx context.Context, ws workspace.Workspace) (bool, error) {
	rt, _, ok, err := running(ctx, ws)
	if err != nil {
		return false, err
	}
	if err := os.RemoveAll(PathsFor(ws).Records); err != nil {
		return false, fmt.Errorf("sandbox reset: removing rehearsal records: %w", err)
	}
	if !ok {
		return false, nil
	}
	_, err = control(ctx, rt, http.MethodPost, "/__sandbox/reset", nil)
	return true, err
}
