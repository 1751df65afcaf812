//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
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
	ws, log, err := setup()
	if err != nil {
		return err
	}
	mode, err := sandbox.ParseEdgeMode(flag(edge, string(sandbox.EdgeWorkerd)))
	if err != nil {
		return fmt.Errorf("sandbox:start -edge: %w", err)
	}
	st, started, err := sandboxctl.Start(ctx, ws, log, sandboxctl.StartOptions{Addr: flag(addr, ""), Edge: mode})
	if err != nil {
		return err
	}
	if started {
		fmt.Printf("sandbox started (pid %d)\n", st.PID)
	} else {
		fmt.Printf("sandbox already running (pid %d)\n", st.PID)
		if st.Edge != "" && st.Edge != string(mode) {
			fmt.Printf("  note: it runs the %s edge, not %s; sandbox:stop first to change it\n", st.Edge, mode)
		}
	}
	printSandboxPlaces(st)
	fmt.Println("every target now uses it; stop it with: go tool mage sandbox:stop")
	return nil
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
func (Sandbox) Stop(ctx context.Context) error {
	ws, log, err := setup()
	if err != nil {
		return err
	}
	was, err := sandboxctl.Stop(ctx, ws, log)
	if err != nil {
		return err
	}
	if was {
		fmt.Println("sandbox stopped")
	} else {
		fmt.Println("sandbox was not running")
	}
	return nil
}

// Status shows whether the local Cloudflare API runs and where it listens.
func (Sandbox) Status(ctx context.Context,
	json *bool, // print the status as JSON on stdout
) error {
	ws, _, err := setup()
	if err != nil {
		return err
	}
	st, err := sandboxctl.GetStatus(ctx, ws)
	if err != nil {
		return err
	}
	if flag(json, false) {
		return st.WriteJSON(os.Stdout)
	}
	if !st.Running {
		fmt.Println("sandbox: not running (start it with: go tool mage sandbox:start)")
		fmt.Printf("  state:       %s\n", st.State)
		return nil
	}
	fmt.Printf("sandbox: running (pid %d, since %s)\n", st.PID, st.Started.Local().Format("15:04:05"))
	printSandboxPlaces(st)
	return nil
}

// Reset empties the local Cloudflare API; its accounts and tokens stay.
func (Sandbox) Reset(ctx context.Context) error {
	ws, _, err := setup()
	if err != nil {
		return err
	}
	if err := sandboxctl.Reset(ctx, ws); err != nil {
		return err
	}
	fmt.Println("sandbox reset: every account is empty; tokens are unchanged")
	return nil
}

func printSandboxPlaces(st sandboxctl.Status) {
	fmt.Printf("  listening:   %s\n", st.URL)
	if st.Edge != "" {
		fmt.Printf("  edge:        %s (Host: <script>.<subdomain>.workers.dev)\n", st.Edge)
	}
	fmt.Printf("  api:         %s\n", st.APIBaseURL)
	fmt.Printf("  state:       %s\n", st.State)
	fmt.Printf("  request log: %s\n", st.RequestLog)
	fmt.Printf("  server log:  %s\n", st.ServerLog)
}
