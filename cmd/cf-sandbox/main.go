// Command cf-sandbox serves the local Cloudflare API for one checkout until it gets SIGINT or
// SIGTERM. Operators start it with `mage sandbox:start`, which runs it detached; it can also
// be run in the foreground for debugging: go run ./cmd/cf-sandbox -root .
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

func main() {
	root := flag.String("root", ".", "the checkout whose tenants/ and .state/ to use")
	addr := flag.String("addr", "127.0.0.1:0", "loopback address to listen on (port 0 picks a free one)")
	edgeFlag := flag.String("edge", "workerd", "how workers.dev answers: workerd (run the uploaded code) or fake (a health answer, no code)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ws, err := workspace.Find(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	edge, err := sandbox.ParseEdgeMode(*edgeFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cf-sandbox: -edge:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := sandboxctl.Serve(ctx, ws, log, sandboxctl.ServeOptions{Addr: *addr, Edge: edge}); err != nil {
		log.Error("sandbox failed", "err", err)
		os.Exit(1)
	}
}
