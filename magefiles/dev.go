//go:build mage

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/devserver"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// Dev runs a tenant's Worker on this machine under wrangler dev (`deploy:tenant <tenant> dev`
// does the same as dev:start).
type Dev mg.Namespace

// Start runs a tenant's Worker on this machine under wrangler dev, health-checked.
func (Dev) Start(ctx context.Context, tenantName string,
	json *bool, // print the server as one JSON document on stdout
) error {
	name, err := tenant.ParseName(tenantName)
	if err != nil {
		return fmt.Errorf("dev:start: %w", err)
	}
	ws, log, err := setup()
	if err != nil {
		return err
	}
	return startDev(ctx, ws, log, name, flag(json, false))
}

// startDev is dev:start, and deploy:tenant <tenant> dev.
func startDev(ctx context.Context, ws workspace.Workspace, log *slog.Logger, name tenant.Name, asJSON bool) error {
	mg.CtxDeps(ctx, NodeModules)
	srv, _, err := devserver.Start(ctx, devserver.Options{Workspace: ws, Tenant: string(name), Log: log, Progress: os.Stderr})
	if err != nil {
		return err
	}
	if asJSON {
		return report.JSON(os.Stdout, srv)
	}
	fmt.Printf("%s/dev: running at %s (health %s/health, pid %d, log %s); stop with `go tool mage dev:stop %s`\n",
		name, srv.URL, srv.URL, srv.PID, srv.LogPath, name)
	return nil
}

// Stop stops the local dev server of a tenant, or of every tenant with "all".
func (Dev) Stop(ctx context.Context, target string) error {
	if err := tenantOrAll("dev:stop", target); err != nil {
		return err
	}
	ws, _, err := setup()
	if err != nil {
		return err
	}
	stopped, err := devserver.Stop(ctx, ws, target)
	if len(stopped) == 0 && err == nil {
		fmt.Println("no dev server was running for " + target)
		return nil
	}
	if len(stopped) > 0 {
		fmt.Println("stopped: " + strings.Join(stopped, ", "))
	}
	return err
}

// Status lists the local dev servers: tenant, URL, pid, whether it runs, its log.
func (Dev) Status(
	json *bool, // print the servers as a JSON array on stdout
) error {
	ws, _, err := setup()
	if err != nil {
		return err
	}
	servers, err := devserver.List(ws)
	if err != nil {
		return err
	}
	if flag(json, false) {
		if servers == nil {
			servers = []devserver.Server{}
		}
		return report.JSON(os.Stdout, servers)
	}
	if len(servers) == 0 {
		fmt.Println("no dev servers (start one with `go tool mage deploy:tenant <tenant> dev`)")
		return nil
	}
	for _, s := range servers {
		state := "running"
		if !s.Alive {
			state = "gone (stale pidfile)"
		}
		fmt.Printf("%-22s %-24s pid %-7d %-20s since %s  log %s\n", s.Tenant, s.URL, s.PID, state, s.StartedAt.Local().Format("15:04:05"), s.LogPath)
	}
	return nil
}
