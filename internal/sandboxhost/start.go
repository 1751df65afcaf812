package sandboxhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// StartOptions tune Start; the zero value is right for operators.
type StartOptions struct {
	// Addr to listen on; default 127.0.0.1:0 (a free port, reported in the runtime file).
	Addr string
	// Wait is how long to wait for the process to listen; default 30 s (a start without
	// Binary compiles cf-sandbox first).
	Wait time.Duration
	// Binary is the cf-sandbox to run detached instead of building one into .state/bin:
	// `cf-sandbox start` passes itself, and tests a binary built once for a scratch
	// checkout that has no Go sources.
	Binary string
	// Edge is how workers.dev answers; "" means sandbox.EdgeWorkerd (run the uploaded code).
	Edge sandbox.EdgeMode
}

// Start builds cf-sandbox (cached by the Go build cache) unless opts.Binary names one, and
// starts it detached in its own session, so it outlives the caller. When the checkout's sandbox already runs it returns
// its status and changes nothing.
func Start(ctx context.Context, ws workspace.Workspace, log *slog.Logger, opts StartOptions) (sandboxctl.Status, bool, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := checkLoopback(addr); err != nil {
		return sandboxctl.Status{}, false, err
	}
	paths := sandboxctl.PathsFor(ws)
	if _, err := Accounts(ws); err != nil { // fail here, with the reason, not in a detached log
		return sandboxctl.Status{}, false, err
	}
	if err := os.MkdirAll(paths.Dir, 0o755); err != nil {
		return sandboxctl.Status{}, false, fmt.Errorf("sandbox start: %w", err)
	}
	// Two starts at once (two terminals, a script) would each spawn a sandbox and the
	// second runtime file would orphan the first process: starts queue on a file lock,
	// which the kernel drops if this process dies.
	unlock, err := lockFile(ctx, filepath.Join(paths.Dir, "start.lock"))
	if err != nil {
		return sandboxctl.Status{}, false, err
	}
	defer unlock()
	if st, err := sandboxctl.GetStatus(ctx, ws); err != nil || st.Running {
		return st, false, err
	}
	bin := opts.Binary
	if bin == "" {
		bin = paths.Binary
		if err := sandboxctl.Build(ctx, ws, log, bin); err != nil {
			return sandboxctl.Status{}, false, err
		}
	}
	os.Remove(paths.Runtime) // a stale file from a dead process

	logf, err := os.OpenFile(paths.ServerLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return sandboxctl.Status{}, false, fmt.Errorf("sandbox start: %w", err)
	}
	defer logf.Close()
	// Not CommandContext: the process must survive the end of this mage run.
	edge := opts.Edge
	if edge == "" {
		edge = sandbox.EdgeWorkerd
	}
	if edge == sandbox.EdgeWorkerd { // here, where a failure is seen, not in a detached log
		if err := npmdeps.Ensure(ctx, log, ws.Root); err != nil {
			return sandboxctl.Status{}, false, fmt.Errorf("sandbox start: the workerd edge needs the node packages: %w", err)
		}
	}
	cmd := exec.Command(bin, "-root", ws.Root, "-addr", addr, "-edge", string(edge))
	cmd.Dir = ws.Root
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Env = sandboxEnv()
	if err := cmd.Start(); err != nil {
		return sandboxctl.Status{}, false, fmt.Errorf("sandbox start: %w", err)
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
			return sandboxctl.Status{}, false, fmt.Errorf("sandbox start: cf-sandbox exited at once (%v); see %s", err, sandboxctl.Rel(ws, paths.ServerLog))
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return sandboxctl.Status{}, false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if rt, ok, _ := sandboxctl.ReadRuntime(paths.Runtime); ok && rt.PID == cmd.Process.Pid {
			if st, err := sandboxctl.GetStatus(ctx, ws); err == nil && st.Running {
				return st, true, nil
			}
		}
	}
	_ = cmd.Process.Kill()
	return sandboxctl.Status{}, false, fmt.Errorf("sandbox start: cf-sandbox did not listen within %s; see %s", wait, sandboxctl.Rel(ws, paths.ServerLog))
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

// Reset empties the sandbox's world (scripts, versions, secrets, triggers, faults) and keeps
// its accounts and tokens. A running sandbox is reset through its control API; a stopped one
// by rewriting its state file. The rehearsal records go too: they describe versions that no
// longer exist.
func Reset(ctx context.Context, ws workspace.Workspace) error {
	ok, err := sandboxctl.ResetRunning(ctx, ws)
	if err != nil || ok {
		return err
	}
	paths := sandboxctl.PathsFor(ws)
	if err := sandbox.ResetEdgeData(paths.Edge); err != nil {
		return err
	}
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
