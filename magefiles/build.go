//go:build mage

package main

import (
	"context"
	"os"

	"github.com/rainbowsmoke/crispy-enigma/internal/ci"
	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// Build bundles every environment of a tenant (or of all tenants, with "all") with wrangler deploy --dry-run into .build/<tenant>/<env>, using no token and no network.
func Build(ctx context.Context, target string) error {
	ws, log, err := setup()
	if err != nil {
		return err
	}
	if err := npmdeps.Ensure(ctx, log, ws.Root); err != nil {
		return err
	}
	_, err = ci.BuildTenants(ctx, ws, wrangler.New(ws, log), target, os.Stdout)
	return err
}
