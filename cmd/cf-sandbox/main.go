// Command cf-sandbox runs the local Cloudflare API for one checkout. The sandbox:* targets
// build it into .state/bin and run it, so the mage binary does not link the emulator:
//
//	cf-sandbox start  -root . [-addr=127.0.0.1:PORT] [-edge=workerd|fake] [-v]
//	cf-sandbox stop   -root . [-v]
//	cf-sandbox status -root . [-json]
//	cf-sandbox reset  -root .
//	cf-sandbox serve  -root . [-addr=127.0.0.1:0] [-edge=workerd|fake] [-v]
//
// start runs serve detached (its own session); serve runs in the foreground until SIGINT or
// SIGTERM, for debugging: go run ./cmd/cf-sandbox serve -root . (flags alone mean serve).
// An error is printed as mage prints one ("Error: …") and exits 1; bad usage exits 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxhost"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// errUsage is a usage error: the flag package has already said why.
var errUsage = errors.New("usage")

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("cf-sandbox "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", ".", "the checkout whose tenants/ and .state/ to use")
	verbose := fs.Bool("v", false, "debug logging")
	var addr, edgeFlag *string
	var jsonOut *bool
	switch cmd {
	case "start", "serve":
		def := "127.0.0.1:0"
		if cmd == "start" {
			def = "" // Start picks a free port
		}
		addr = fs.String("addr", def, "loopback address to listen on (port 0 picks a free one)")
		edgeFlag = fs.String("edge", string(sandbox.EdgeWorkerd), "how workers.dev answers: workerd (run the uploaded code) or fake (a health answer, no code)")
	case "status":
		jsonOut = fs.Bool("json", false, "print the status as JSON on stdout")
	case "stop", "reset":
	default:
		fmt.Fprintf(stderr, "cf-sandbox: unknown command %q: use start, stop, status, reset or serve\n", cmd)
		return errUsage
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cf-sandbox %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return errUsage
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ws, err := workspace.Find(*root)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "serve":
		edge, err := sandbox.ParseEdgeMode(*edgeFlag)
		if err != nil {
			return fmt.Errorf("cf-sandbox: -edge: %w", err)
		}
		if err := sandboxhost.Serve(ctx, ws, log, sandboxhost.ServeOptions{Addr: *addr, Edge: edge}); err != nil {
			log.Error("sandbox failed", "err", err)
			return err
		}
		return nil
	case "start":
		return start(ctx, ws, log, stdout, *addr, *edgeFlag)
	case "stop":
		was, err := sandboxctl.Stop(ctx, ws, log)
		if err != nil {
			return err
		}
		if was {
			fmt.Fprintln(stdout, "sandbox stopped")
		} else {
			fmt.Fprintln(stdout, "sandbox was not running")
		}
		return nil
	case "status":
		return status(ctx, ws, stdout, *jsonOut)
	default: // reset
		if err := sandboxhost.Reset(ctx, ws); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "sandbox reset: every account is empty; tokens are unchanged")
		return nil
	}
}

// start is sandbox:start: this very binary is what runs detached.
func start(ctx context.Context, ws workspace.Workspace, log *slog.Logger, stdout io.Writer, addr, edgeFlag string) error {
	mode, err := sandbox.ParseEdgeMode(edgeFlag)
	if err != nil {
		return fmt.Errorf("sandbox:start -edge: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("sandbox start: %w", err)
	}
	st, started, err := sandboxhost.Start(ctx, ws, log, sandboxhost.StartOptions{Addr: addr, Edge: mode, Binary: self})
	if err != nil {
		return err
	}
	if started {
		fmt.Fprintf(stdout, "sandbox started (pid %d)\n", st.PID)
	} else {
		fmt.Fprintf(stdout, "sandbox already running (pid %d)\n", st.PID)
		if st.Edge != "" && st.Edge != string(mode) {
			fmt.Fprintf(stdout, "  note: it runs the %s edge, not %s; sandbox:stop first to change it\n", st.Edge, mode)
		}
	}
	printPlaces(stdout, st)
	fmt.Fprintln(stdout, "every target now uses it; stop it with: go tool mage sandbox:stop")
	return nil
}

// status is sandbox:status.
func status(ctx context.Context, ws workspace.Workspace, stdout io.Writer, asJSON bool) error {
	st, err := sandboxctl.GetStatus(ctx, ws)
	if err != nil {
		return err
	}
	if asJSON {
		return st.WriteJSON(stdout)
	}
	if !st.Running {
		fmt.Fprintln(stdout, "sandbox: not running (start it with: go tool mage sandbox:start)")
		fmt.Fprintf(stdout, "  state:       %s\n", st.State)
		return nil
	}
	fmt.Fprintf(stdout, "sandbox: running (pid %d, since %s)\n", st.PID, st.Started.Local().Format("15:04:05"))
	printPlaces(stdout, st)
	return nil
}

func printPlaces(w io.Writer, st sandboxctl.Status) {
	fmt.Fprintf(w, "  listening:   %s\n", st.URL)
	if st.Edge != "" {
		fmt.Fprintf(w, "  edge:        %s (Host: <script>.<subdomain>.workers.dev)\n", st.Edge)
	}
	fmt.Fprintf(w, "  api:         %s\n", st.APIBaseURL)
	fmt.Fprintf(w, "  state:       %s\n", st.State)
	fmt.Fprintf(w, "  request log: %s\n", st.RequestLog)
	fmt.Fprintf(w, "  server log:  %s\n", st.ServerLog)
}
