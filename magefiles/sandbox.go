//go:build mage

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
)

// Sandbox runs the local Cloudflare API that deploy, drift and rollback rehearse against.
type Sandbox mg.Namespace

// Start starts the local Cloudflare API in the background and prints its address.
//
// -edge=workerd (the default) makes workers.dev run each served version's uploaded code in
// workerd; -edge=fake answers a health document made from the version's vars instead, without
// running code (for fleet-scale benchmarks).
func (Sandbox) Start(ctx context.Context,
	addr *string, // 127.0.0.1:PORT to listen on (default: a free port)
	edge *string, // workerd (run the uploaded code, the default) or fake (a health document per version)
) error {
	var args []string
	if addr != nil {
		args = append(args, "-addr="+*addr)
	}
	if edge != nil {
		args = append(args, "-edge="+*edge)
	}
	return cfSandbox(ctx, "start", args...)
}

// Attach makes this checkout rehearse against another checkout's running sandbox.
//
// The URL is the one sandbox:status shows in the other checkout (http://127.0.0.1:PORT). From
// then on every target here uses that sandbox, with its tokens and its workers.dev edge, and
// keeps records in this checkout's rehearsal folder, never in deployments/. sandbox:stop here
// detaches without stopping it.
func (Sandbox) Attach(ctx context.Context, url string) error {
	ws, _, err := setup()
	if err != nil {
		return err
	}
	rt, err := sandboxctl.Attach(ctx, ws, url)
	if err != nil {
		return err
	}
	fmt.Printf("attached to the sandbox at %s; rehearsal records go to %s; detach with: go tool mage sandbox:stop\n",
		rt.URL, sandboxctl.PathsFor(ws).Records)
	return nil
}

// Stop stops the local Cloudflare API of this checkout; its state file is kept.
func (Sandbox) Stop(ctx context.Context) error { return cfSandbox(ctx, "stop") }

// Status shows whether the local Cloudflare API runs and where it listens.
func (Sandbox) Status(ctx context.Context,
	json *bool, // print the status as JSON on stdout
) error {
	if flag(json, false) {
		return cfSandbox(ctx, "status", "-json")
	}
	return cfSandbox(ctx, "status")
}

// Reset empties the local Cloudflare API; its accounts and tokens stay.
func (Sandbox) Reset(ctx context.Context) error { return cfSandbox(ctx, "reset") }

// cfSandbox runs a command of cmd/cf-sandbox, built into .state/bin (a no-op relink when
// nothing changed), with this terminal: the emulator lives in that binary, not in mage's.
func cfSandbox(ctx context.Context, command string, args ...string) error {
	ws, log, err := setup()
	if err != nil {
		return err
	}
	bin := sandboxctl.PathsFor(ws).Binary
	if err := sandboxctl.Build(ctx, ws, log, bin); err != nil {
		return err
	}
	args = append([]string{command, "-root=" + ws.Root}, args...)
	if mg.Verbose() {
		args = append(args, "-v")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = ws.Root
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() > 0 {
		// cf-sandbox has said why, as mage would ("Error: …"); a returned error would print
		// a second line, so end with its exit code alone.
		os.Exit(exit.ExitCode())
	}
	return err
}
