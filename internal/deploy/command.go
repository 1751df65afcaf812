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
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
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

// Flags are the optional flags of deploy:tenant (-json=true is the magefile's, which renders).
type Flags struct {
	DryRun, Force bool
	// Checks is what the tree's fast checks found (the mage target runs them first).
	Checks *history.Checks
	// Rollout makes it a gradual rollout (nil: immediate).
	Rollout *Rollout
}

// ParseBake reads -bake (a Go duration, "" is zero).
func ParseBake(bake string) (time.Duration, error) {
	if bake == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(bake)
	if err != nil {
		return 0, fmt.Errorf("-bake=%s: not a duration; write e.g. -bake=30s or -bake=5m", bake)
	}
	if d < 0 {
		return 0, fmt.Errorf("-bake=%s: negative; the bake is how long something holds, 0 or more (e.g. -bake=30s)", bake)
	}
	return d, nil
}

// RolloutFlags reads -rollout, -bake and -rolloutFallback; all empty means an immediate
// deploy (nil). -bake and -rolloutFallback without -rollout are mistakes, not no-ops.
func RolloutFlags(steps, bake, fallback string) (*Rollout, error) {
	if steps == "" {
		if bake != "" || fallback != "" {
			return nil, fmt.Errorf("-bake and -rolloutFallback go with -rollout=…, e.g. -rollout=10,50,100 -bake=2m")
		}
		return nil, nil
	}
	ps, err := ParseRollout(steps)
	if err != nil {
		return nil, err
	}
	r := &Rollout{Percents: ps}
	if r.Bake, err = ParseBake(bake); err != nil {
		return nil, err
	}
	switch fallback {
	case "":
	case "immediate":
		r.FallbackImmediate = true
	default:
		return nil, fmt.Errorf("-rolloutFallback=%s: the only fallback is \"immediate\" (without it an impossible rollout is refused)", fallback)
	}
	return r, nil
}

// Command is deploy:tenant for a Cloudflare env (staging, production): it prepares and runs
// the deploy, its step lines streaming to stderr. The outcome is filled as far as the run got,
// also on error, and the caller renders it (WriteOutcome) whatever the error; it is nil when
// the run never started (its set-up failed), with nothing to render.
func Command(ctx context.Context, ws workspace.Workspace, log *slog.Logger, tenantName tenant.Name, env tenant.Env, f Flags, stderr io.Writer) (*Outcome, error) {
	opts, err := Prepare(ctx, ws, log, stderr)
	if err != nil {
		return nil, fmt.Errorf("deploy %s/%s: %w", tenantName, env, err)
	}
	opts.Tenant, opts.Env, opts.DryRun, opts.Force, opts.Checks, opts.Rollout = tenantName, env, f.DryRun, f.Force, f.Checks, f.Rollout
	start := time.Now()
	out, err := Run(ctx, opts)
	out.Took = time.Since(start)
	return &out, err
}

// WriteOutcome renders what deploy:tenant, deploy:promote, deploy:abort or redeploy (what names it)
// did: with asJSON the outcome document, else its summary line with the record's path
// relative to root. A nil outcome (the run never started) renders nothing, and so does, in
// text, a promote, abort or redeploy refused before it resolved the tenant: the error says why.
func WriteOutcome(w io.Writer, root, what string, o *Outcome, asJSON bool) error {
	if o == nil {
		return nil
	}
	if asJSON {
		return report.JSON(w, o)
	}
	out := *o
	if rel, err := filepath.Rel(root, out.RecordFile); err == nil && out.RecordFile != "" {
		out.RecordFile = rel
	}
	if what == "deploy:tenant" {
		_, err := fmt.Fprintln(w, summary(out, out.Took))
		return err
	}
	if out.Record.Tenant == "" {
		return nil
	}
	_, err := fmt.Fprintln(w, what+" "+summary(out, out.Took))
	return err
}

// summary is the one line that ends a deploy on stdout.
func summary(out Outcome, took time.Duration) string {
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

// prepareRead is Prepare without the validator and node packages: what deploy:status,
// deploy:promote and deploy:abort need (the API, the edge client, the tokens).
func prepareRead(ctx context.Context, ws workspace.Workspace, log *slog.Logger, banner io.Writer) (Options, error) {
	ep, err := sandboxctl.Resolve(ctx, ws, log)
	if err != nil {
		return Options{}, err
	}
	ep.PrintBanner(banner)
	opts := Options{Workspace: ws, APIBaseURL: ep.APIBaseURL, HTTPClient: ep.HTTPClient, Runner: wrangler.New(ws, log), Log: log, Progress: banner}
	opts.SandboxToken = ep.SandboxTokens()
	return opts, nil
}

// StatusCommand is deploy:status: every named tenant's live split (versions, shares, since
// when, by which record; record paths relative to the checkout). A tenant that cannot be read
// has its error in its row (StatusProblem); the error is for a refused request or an
// interrupted run, with the rows read so far.
func StatusCommand(ctx context.Context, ws workspace.Workspace, log *slog.Logger, target string, env tenant.Env, stderr io.Writer) ([]SplitStatus, error) {
	names := []string{target}
	if target == tenant.All {
		var err error
		if names, err = tenant.List(ws); err != nil {
			return nil, fmt.Errorf("deploy:status: %w", err)
		}
	}
	opts, err := prepareRead(ctx, ws, log, stderr)
	if err != nil {
		return nil, fmt.Errorf("deploy:status: %w", err)
	}
	opts.Env = env
	sts, err := Statuses(ctx, opts, names)
	for i := range sts {
		if rel, rerr := filepath.Rel(ws.Root, sts[i].RecordFile); rerr == nil && sts[i].RecordFile != "" {
			sts[i].RecordFile = rel
		}
	}
	return sts, err
}

// WriteStatuses renders deploy:status: one line per tenant, or with asJSON one document.
func WriteStatuses(w io.Writer, sts []SplitStatus, asJSON bool) error {
	if asJSON {
		return report.JSON(w, sts)
	}
	for _, s := range sts {
		if _, err := fmt.Fprintln(w, s.Line()); err != nil {
			return err
		}
	}
	return nil
}

// StatusProblem is the first row that could not be read, as an error, or nil: deploy:status
// then exits 1.
func StatusProblem(sts []SplitStatus) error {
	for _, s := range sts {
		if s.Error != "" {
			return fmt.Errorf("deploy:status: %s/%s could not be read: %s", s.Tenant, s.Env, s.Error)
		}
	}
	return nil
}

// Line is the status row: "acme/staging: split a@10% b@90% since … (rollout record …, interrupted)".
func (s SplitStatus) Line() string {
	head := s.Tenant + "/" + s.Env
	if s.Error != "" {
		return head + ": cannot read: " + s.Error
	}
	what := "live " + splitString(s.Split)
	if s.IsSplit() {
		what = "SPLIT " + splitString(s.Split)
	}
	line := fmt.Sprintf("%s: %s since %s", head, what, s.Since.UTC().Format(time.RFC3339))
	switch {
	case s.RecordFile != "" && s.IsSplit():
		line += fmt.Sprintf("; rollout of %s over %s, record %s (%s); settle with deploy:promote or deploy:abort", s.NewVersionID, s.OldVersionID, s.RecordFile, s.RecordStatus)
	case s.IsSplit():
		// A run killed with kill -9 leaves its reservation, which promote and abort turn into
		// its record before they settle the split.
		line += fmt.Sprintf("; no record names it yet (a killed rollout's is written by the next command); settle with `go tool mage deploy:abort %s %s` or deploy:promote, or choose with `go tool mage rollback %s %s -to=<version>`",
			s.Tenant, s.Env, s.Tenant, s.Env)
	}
	return line
}

// SettleCommand is deploy:promote and deploy:abort. As for Command, the caller renders the
// outcome (WriteOutcome) whatever the error; it is nil when the run never started.
func SettleCommand(ctx context.Context, ws workspace.Workspace, log *slog.Logger, tenantName tenant.Name, env tenant.Env, a Action, stderr io.Writer) (*Outcome, error) {
	opts, err := prepareRead(ctx, ws, log, stderr)
	if err != nil {
		return nil, fmt.Errorf("deploy:%s %s/%s: %w", a, tenantName, env, err)
	}
	opts.Tenant, opts.Env = tenantName, env
	opts.Runner.Grace = 2 * time.Second
	start := time.Now()
	out, err := Settle(ctx, opts, a)
	out.Took = time.Since(start)
	return &out, err
}
