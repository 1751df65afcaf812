package sandboxhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/atomicfile"
	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// ServeOptions configure Serve.
type ServeOptions struct {
	Addr string // loopback address; "" picks a free port
	// Edge is how workers.dev answers: sandbox.EdgeWorkerd (the default: rehearsals run the
	// uploaded code) or sandbox.EdgeFake.
	Edge sandbox.EdgeMode
}

// Serve runs the sandbox of ws in this process until ctx ends: it loads the accounts from
// tenants/, listens on o.Addr (loopback only), writes the runtime file once it listens and
// removes it when it stops, after stopping every Worker runtime of its edge.
// cmd/cf-sandbox is a thin wrapper around it.
func Serve(ctx context.Context, ws workspace.Workspace, log *slog.Logger, o ServeOptions) error {
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if o.Edge == "" {
		o.Edge = sandbox.EdgeWorkerd
	}
	if err := checkLoopback(addr); err != nil {
		return err
	}
	paths := sandboxctl.PathsFor(ws)
	if err := os.MkdirAll(paths.Dir, 0o755); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	accounts, err := Accounts(ws)
	if err != nil {
		return err
	}
	reqlog, err := os.OpenFile(paths.RequestLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("sandbox: request log: %w", err)
	}
	defer reqlog.Close()
	if o.Edge == sandbox.EdgeWorkerd {
		if err := npmdeps.Ensure(ctx, log, ws.Root); err != nil {
			return fmt.Errorf("sandbox: the workerd edge needs the node packages: %w", err)
		}
	}
	srv, err := sandbox.New(sandbox.Options{
		StatePath: paths.State, Accounts: accounts, Log: log, RequestLog: reqlog,
		Edge: sandbox.EdgeOptions{Mode: o.Edge, NodeModules: filepath.Join(ws.Root, "node_modules"), Dir: paths.Edge},
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Close(); err != nil {
			log.Error("sandbox edge stop", "err", err)
		}
	}()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sandbox: listen on %s: %w (is another sandbox running? try `mage sandbox:status`)", addr, err)
	}
	rt := sandboxctl.Runtime{
		PID: os.Getpid(), URL: "http://" + ln.Addr().String(), Root: ws.Root,
		State: paths.State, RequestLog: paths.RequestLog, Started: time.Now().UTC(), Edge: string(o.Edge),
	}
	data, _ := json.MarshalIndent(rt, "", "  ")
	if err := atomicfile.Write(paths.Runtime, append(data, '\n'), atomicfile.Options{}); err != nil {
		ln.Close()
		return fmt.Errorf("sandbox: runtime file: %w", err)
	}
	defer removeRuntimeIfOurs(paths.Runtime, rt.PID)
	log.Info("sandbox listening", "url", rt.URL, "state", paths.State, "accounts", len(accounts), "edge", o.Edge)

	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("sandbox: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sandbox: shutdown: %w", err)
	}
	log.Info("sandbox stopped")
	return nil
}

// checkLoopback refuses any address but loopback: the control API has no auth and hands out
// tokens, so it must never be reachable from another machine.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("sandbox: listen address %q: %w (use 127.0.0.1:PORT)", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("sandbox: listen address %q is not loopback; use 127.0.0.1:PORT", addr)
	}
	return nil
}

// removeRuntimeIfOurs leaves a newer sandbox's runtime file alone.
func removeRuntimeIfOurs(path string, pid int) {
	if rt, ok, _ := sandboxctl.ReadRuntime(path); ok && rt.PID == pid {
		os.Remove(path)
	}
}
