package fleet

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// Shared is what the fleet worked out once, before the first deploy, for each tenant.
type Shared struct {
	// Bundles are the prebuilt bundles (Prebuild), by tenant; a tenant without one builds.
	Bundles map[string]*wrangler.Bundle
	// Preflight are the gate's reports of the ready tenants, by tenant.
	Preflight map[string]*deploy.CheckedPreflight
}

// DeployTask runs the full deploy:tenant pipeline (its own token, lock, record and
// rollback) for each tenant, with base as the shared options; base.Env is the fleet's env.
// Each of the deploy's typed events (a step ending, a notice) becomes one progress note, and
// the tenant's wrangler output stays in its own run folder, whose log is shown at the end if
// the tenant fails.
func DeployTask(base deploy.Options, shared Shared) Task {
	return func(ctx context.Context, tenantName string, note Note) Outcome {
		opts := base
		opts.Tenant = tenant.Name(tenantName) // from the selection: listed folders with valid names
		opts.Prebuilt = shared.Bundles[tenantName]
		opts.Preflight = shared.Preflight[tenantName]
		opts.Command = "deploy:all " + string(base.Env) + " (" + tenantName + ")"
		opts.Progress = io.Discard
		opts.OnEvent = func(e deploy.Event) { state, detail := eventNote(e); note(state, detail) }
		start := time.Now()
		out, err := deploy.Run(ctx, opts)
		rec := out.Record
		o := Outcome{
			Tenant: tenantName, Status: Status(rec.Status), Version: rec.VersionID, URL: rec.URL,
			Duration: time.Since(start), RecordPath: out.RecordFile, Error: rec.Error, MissingSecrets: rec.MissingSecrets,
		}
		if out.RunDir != "" {
			o.LogPath = filepath.Join(out.RunDir, "wrangler.log")
		}
		if err != nil && (o.Error == "" || !errors.Is(err, deploy.ErrFailed)) {
			o.Error = err.Error()
		}
		switch {
		case o.Status == "" && err == nil:
			o.Status = Succeeded
		case o.Status == "" || (err != nil && o.Status.OK()):
			// No record was written (the tenant did not resolve) or writing it failed.
			o.Status = Failed
		}
		return o
	}
}

// eventNote is a deploy event as the fleet's progress shows it: the step as the state, then
// how it ended and how long it took ("build", "ok 1.2s"), or the notice.
func eventNote(e deploy.Event) (state, detail string) {
	if e.Status == "info" {
		return e.Step, e.Detail
	}
	return e.Step, e.Status + " " + e.Duration.Round(time.Millisecond).String()
}
