//go:build mage

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/rainbowsmoke/crispy-enigma/internal/probe"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
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

// finalHealth is the last step of deploy:tenant: the same check as `mage health`, on stderr so
// that -json=true keeps stdout to one document.
func finalHealth(ctx context.Context, ws workspace.Workspace, log *slog.Logger, name tenant.Name, env tenant.Env) error {
	rs, err := probe.Health(ctx, ws, log, string(name), env, nil, nil)
	if err != nil {
		return err
	}
	for _, r := range rs {
		fmt.Fprintln(os.Stderr, "health: "+r.Line())
	}
	if probe.Unhealthy(rs) > 0 {
		return fmt.Errorf("deploy %s/%s: the final health check failed (see `go tool mage health %s %s`)", name, env, name, env)
	}
	return nil
}
