package wrangler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DevOptions say how `wrangler dev` is started.
type DevOptions struct {
	// Port is the HTTP port the Worker listens on (the tenant's dev port).
	Port int
	// IP to listen on; "" is 127.0.0.1 so the dev server is never reachable from outside.
	IP string
	// LogPath receives wrangler's stdout and stderr, raw (ANSI included: nothing of ours
	// stays alive to strip it once the target returns). The file is appended to.
	LogPath string
	// PersistTo is the folder for local KV/Durable Object state (--persist-to); "" keeps
	// wrangler's default, .wrangler/state beside the config.
	PersistTo string
	// ExtraArgs are appended to the command line. This is the hook for whatever flags
	// running dev offline needs (the dev manager owns that knowledge).
	ExtraArgs []string
	// ExtraEnv are added to the built environment as NAME=value. CLOUDFLARE_* and
	// WRANGLER_CI_OVERRIDE_NAME are refused: credentials go only through Invocation.
	ExtraEnv []string
}

// Dev starts `wrangler dev` in the background, in its own process group (so the operator's
// Ctrl-C on mage does not reach it) with stdin closed, and returns the started command: the
// caller owns it (pidfile, health check, stop with StopGroup). The run folder under
// inv.ScratchDir is kept, since the server lives on; inv.Output and inv.KeepScratch are
// ignored. ctx only guards the start.
func (r Runner) Dev(ctx context.Context, inv Invocation, opts DevOptions) (*exec.Cmd, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("wrangler dev: %w", err)
	}
	if r.Bin == "" || inv.ConfigPath == "" {
		return nil, errors.New("wrangler dev: Runner.Bin and Invocation.ConfigPath are required")
	}
	if opts.Port <= 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("wrangler dev: port %d is not a TCP port; set dev.port in tenant.config.json", opts.Port)
	}
	if opts.LogPath == "" {
		return nil, errors.New("wrangler dev: LogPath is required (the server outlives this process)")
	}
	for _, kv := range opts.ExtraEnv {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "CLOUDFLARE_") || strings.HasPrefix(name, "CF_") || name == "WRANGLER_CI_OVERRIDE_NAME" {
			return nil, fmt.Errorf("wrangler dev: extra variable %s refused; pass credentials through the Invocation", name)
		}
	}
	ip := opts.IP
	if ip == "" {
		ip = "127.0.0.1"
	}
	nb, err := nodeDir()
	if err != nil {
		return nil, fmt.Errorf("wrangler dev: %w", err)
	}
	sc, err := newScratch(inv.ScratchDir)
	if err != nil {
		return nil, fmt.Errorf("wrangler dev: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(opts.LogPath), 0o755); err != nil {
		return nil, fmt.Errorf("wrangler dev: log folder: %w", err)
	}
	logf, err := os.OpenFile(opts.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("wrangler dev: log file: %w", err)
	}
	defer logf.Close() // the child has its own descriptor

	args := append([]string{"dev"}, baseArgs(inv)...)
	args = append(args, "--ip", ip, "--port", strconv.Itoa(opts.Port), "--show-interactive-dev-session=false")
	if opts.PersistTo != "" {
		args = append(args, "--persist-to", opts.PersistTo)
	}
	args = append(args, opts.ExtraArgs...)

	cmd := exec.Command(r.Bin, args...)
	cmd.Dir = sc.cwd
	cmd.Env = append(environ(inv, sc, nb), opts.ExtraEnv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("wrangler dev: start %s: %w", r.Bin, err)
	}
	r.log().Debug("wrangler dev started", "pid", cmd.Process.Pid, "port", opts.Port, "log", opts.LogPath)
	return cmd, nil
}

// StopGroup stops the process group led by pid (a wrangler started by this package): SIGTERM,
// then SIGKILL if anything of the group is still there after grace (0 means DefaultGrace) or
// when ctx ends. A group that is already gone is not an error.
func StopGroup(ctx context.Context, pid int, grace time.Duration) error {
	if pid <= 1 {
		return fmt.Errorf("stop process group: refusing pid %d", pid)
	}
	if grace <= 0 {
		grace = DefaultGrace
	}
	if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("stop process group %d: %w", pid, err)
	}
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			// Signal 0 probes the group: ESRCH means every member has exited.
			if errors.Is(syscall.Kill(-pid, 0), syscall.ESRCH) {
				return nil
			}
		case <-deadline.C:
			return killGroup(pid)
		case <-ctx.Done():
			return errors.Join(killGroup(pid), ctx.Err())
		}
	}
}

func killGroup(pid int) error {
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop process group %d: %w", pid, err)
	}
	return nil
}
