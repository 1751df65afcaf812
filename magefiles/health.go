//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/rainbowsmoke/crispy-enigma/internal/probe"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// Health asks a tenant's (or all) live health URL now: healthy, and which version.
//
// The runbooks' "verify" step. Exits 1 if any tenant is not healthy.
func Health(ctx context.Context, target, env string,
	json *bool, // print [{tenant, env, url, healthy, version_id, status_code, error}] on stdout
) error {
	e, err := tenant.ParseEnv(env)
	if err != nil {
		return fmt.Errorf("health %s: %w", target, err)
	}
	ws, log, err := setup()
	if err != nil {
		return err
	}
	rs, err := probe.Health(ctx, ws, log, target, e, nil, os.Stderr)
	if err != nil {
		return err
	}
	if flag(json, false) {
		err = report.JSON(os.Stdout, rs)
	} else {
		for _, r := range rs {
			fmt.Println(r.Line())
		}
	}
	if err != nil {
		return err
	}
	if n := probe.Unhealthy(rs); n > 0 {
		return fmt.Errorf("health %s %s: %d of %d not healthy", target, env, n, len(rs))
	}
	return nil
}
