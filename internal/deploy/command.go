package deploy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
	"github.com/rainbowsmoke/crispy-enigma/internal/plugins"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/validate"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// Prepare builds the Options shared by every deploy of this process: node packages installed,
// the API chosen (the running sandbox, CLOUDFLARE_API_BASE_URL, or Cloudflare; its banner is
// written to banner), the validator compiled. Set Tenant and Env (and the flags) on the result.
func Prepare(ctx context.Context, ws workspace.Workspace, log *slog.Logger, banner io.Writer) (Options, error) {
	if err := npmdeps.Ensure(ctx, log, ws.Root); err != nil {
		return Options{}, err
	}
	ep, err := sandboxctl.Resolve(ctx, ws, log)
	if err != nil {
		return Options{}, err
	}
	ep.PrintBanner(banner)
	v, err := validate.New(ws, log, validate.Options{})
	if err != nil {
		return Options{}, err
	}
	opts := Options{
		Workspace: ws, APIBaseURL: ep.APIBaseURL, HTTPClient: ep.HTTPClient,
		Validate: ValidateWith(v), Runner: wrangler.New(ws, log), Log: log, Progress: banner,
	}
	// Mage gives a cancelled target 5 s before it exits anyway; wrangler must be gone, the lock
	// released and the interrupted record written well within that.
	opts.Runner.Grace = 2 * time.Second
	opts.Plugins = &plugins.Runner{Root: ws.Root}
	opts.SandboxToken = ep.SandboxTokens()
	if ep.Sandbox {
		// Plugins reach the Worker through the sandbox's edge, as the health check does.
		if u, err := url.Parse(ep.APIBaseURL); err == nil {
			opts.Plugins.Connect = u.Host
		}
	}
	return opts, nil
}

// Flags are the optional flags of deploy:tenant.
type Flags struct {
	DryRun, Force, JSON bool
	// Checks is what the tree's fast checks found (the mage target runs them first).
	Checks *history.Checks
}

// Command is deploy:tenant for a Cloudflare env (staging, production): it prepares, runs, and
// prints the outcome: step lines on stderr, then one summary line (or, with JSON, the outcome
// document) on stdout.
func Command(ctx context.Context, ws workspace.Workspace, log *slog.Logger, tenantName, env string, f Flags, stdout, stderr io.Writer) error {
	opts, err := Prepare(ctx, ws, log, stderr)
	if err != nil {
		return fmt.Errorf("deploy %s/%s: %w", tenantName, env, err)
	}
	opts.Tenant, opts.Env, opts.DryRun, opts.Force, opts.Checks = tenantName, env, f.DryRun, f.Force, f.Checks
	start := time.Now()
	out, err := Run(ctx, opts)
	if f.JSON {
		if jerr := report.JSON(stdout, out); jerr != nil && err == nil {
			err = jerr
		}
		return err
	}
	if rel, rerr := filepath.Rel(ws.Root, out.RecordFile); rerr == nil && out.RecordFile != "" {
		out.RecordFile = rel
	}
	fmt.Fprintln(stdout, Summary(out, time.Since(start)))
	return err
}

// Summary is the one line that ends a deploy on stdout.
func Summary(out Outcome, took time.Duration) string {
	r := out.Record
	if r.Tenant == "" {
		return "deploy: nothing done"
	}
	head := fmt.Sprintf("%s/%s", r.Tenant, r.Env)
	if out.DryRun && out.Plan.Worker != "" {
		action := "would deploy a new version"
		if out.Plan.Unchanged {
			action = "would do nothing (unchanged)"
		}
		return fmt.Sprintf("%s: dry run: %s of %s (fingerprint %.12s) in %s", head, action, out.Plan.Worker, out.Plan.Fingerprint, took.Round(time.Millisecond))
	}
	if r.Status == "" {
		return head + ": not deployed"
	}
	line := fmt.Sprintf("%s: %s", head, r.Status)
	if r.VersionID != "" {
		line += ": version " + r.VersionID
	}
	if r.URL != "" {
		line += " at " + r.URL
	}
	line += fmt.Sprintf(" in %s", took.Round(time.Millisecond))
	if out.RecordFile != "" {
		line += "; record " + out.RecordFile
	}
	return line
}
