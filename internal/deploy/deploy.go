package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/health"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
	"github.com/rainbowsmoke/crispy-enigma/internal/plugins"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// Options is one deploy request and the world it runs in.
type Options struct {
	Workspace workspace.Workspace
	// Tenant and Env are what to deploy, checked where the request came in (tenant.ParseName,
	// tenant.ParseCloudEnv): Run does not parse them again.
	Tenant tenant.Name
	Env    tenant.Env
	// DryRun plans and stops: nothing is locked, uploaded or recorded.
	DryRun bool
	// Force deploys even when the live version already runs this fingerprint.
	Force bool

	// APIBaseURL is the Cloudflare API (the sandbox's when it runs); "" means Cloudflare.
	APIBaseURL string
	// HTTPClient reads the API and polls health URLs; with the sandbox it sends *.workers.dev
	// to the sandbox's edge. nil means a plain client.
	HTTPClient *http.Client
	// Lookup reads the process environment for tokens; nil means os.LookupEnv.
	Lookup creds.Lookup
	// SandboxToken is set when the run talks to a sandbox: its token for the tenant's account
	// is used, and the tenant's real token never is (creds.For).
	SandboxToken creds.SandboxTokens
	// Validate checks the tenant's files (package validate); nil skips the step.
	Validate func(ctx context.Context, t *tenant.Tenant) error
	// Runner starts wrangler; the zero value means wrangler.New(Workspace, Log).
	Runner wrangler.Runner
	// HealthDeadline overrides the tenant's health_check.deadline_seconds (tests).
	HealthDeadline time.Duration
	// Command names this run in the lock file ("deploy:tenant acme staging").
	Command string
	// Checks is what the fast checks of the tree found before this deploy (package
	// treecheck), copied into the record; nil when the caller ran none (tests, redeploy).
	Checks *history.Checks
	// Plugins runs the plugin scripts (pre-deploy, post-deploy, post-rollback, notify); nil
	// runs none.
	Plugins *plugins.Runner
	// Rollout makes the deploy a gradual rollout (deploy:tenant -rollout=…); nil deploys
	// immediately.
	Rollout *Rollout
	// Prebuilt is the bundle a fleet deploy built once for every tenant with this tenant's
	// build key (buildcache.SharedKey); the upload sends it with --no-bundle instead of
	// bundling again. nil: the deploy builds, as a single deploy does.
	Prebuilt *wrangler.Bundle
	// Preflight is this tenant's preflight report as a fleet's gate made it just before;
	// the preflight step uses it instead of asking the API again while it is fresh
	// (preflightFresh). nil: the step checks.
	Preflight *CheckedPreflight

	// OnEvent, when set, receives every step's end and every notice as a typed Event (the
	// fleet's progress), alongside the lines written to Progress.
	OnEvent func(Event)

	// Log receives diagnostics; Progress receives one line per step. nil discards.
	Log      *slog.Logger
	Progress io.Writer
}

// Outcome is how a deploy ended: the record written, and where.
type Outcome struct {
	Record     history.Record `json:"record"`
	RecordFile string         `json:"record_file,omitempty"`
	Plan       Plan           `json:"plan"`
	// DryRun is a dry run's outcome: planned, nothing recorded.
	DryRun bool `json:"dry_run,omitempty"`
	// Settled is the record written for what a killed earlier attempt left, if there was one.
	Settled string `json:"settled_record_file,omitempty"`
	RunDir  string `json:"run_dir,omitempty"`
	// Tag is the git tag left by a succeeded production deploy (deploy/<tenant>/production/<stamp>).
	Tag string `json:"tag,omitempty"`
	// Took is how long the command's run took, for the summary line (the record has the times).
	Took time.Duration `json:"-"`
}

// ErrFailed is matched (errors.Is) by the error of a deploy that ended failed, rolled_back or
// interrupted; the mage target turns it into exit 1.
var ErrFailed = errors.New("deploy did not succeed")

// Run deploys opts.Tenant/opts.Env. The returned Outcome is filled as far as the run got, also
// on error. A nil error means succeeded or unchanged (or a finished dry run).
func Run(ctx context.Context, opts Options) (Outcome, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.Runner.Bin == "" {
		opts.Runner = wrangler.New(opts.Workspace, opts.Log)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Command == "" {
		opts.Command = "deploy:tenant " + string(opts.Tenant) + " " + string(opts.Env)
	}
	st := &State{Opts: opts, started: time.Now().UTC()}
	st.Record = history.Record{Kind: history.KindDeploy, Tenant: string(opts.Tenant), Env: string(opts.Env), StartedAt: st.started, Checks: opts.Checks, Rehearsal: opts.SandboxToken != nil}
	defer func() {
		if st.wlog != nil {
			_ = st.wlog.Close()
		}
		if st.Lock != nil {
			if err := st.Lock.Release(); err != nil {
				opts.Log.Warn("releasing the deploy lock", "err", err)
			}
		}
	}()

	runErr := st.runSteps(ctx, pipeline)
	if errors.Is(runErr, errUnchanged) && !opts.DryRun && st.API != nil {
		// Unchanged uploads nothing, but its exit code and record still say the live version is
		// good: the same last check as a deploy's, before the record.
		start := time.Now()
		err := st.finalHealth(ctx)
		st.step("health", start)
		st.progress("health", time.Since(start), err)
		if err != nil {
			runErr = &stepError{"health", fmt.Errorf("nothing was deployed (unchanged), but %w", err)}
		}
	}
	out := Outcome{Plan: st.Plan, RunDir: st.RunDir, DryRun: opts.DryRun}
	if st.Settled != nil {
		out.Settled = st.Settled.File
	}
	if errors.Is(runErr, errDryRun) {
		out.Record = st.Record
		return out, nil
	}
	if opts.DryRun {
		// A dry run is not an attempt: it leaves no record, also when it fails before planning.
		out.Record = st.Record
		return out, fmt.Errorf("deploy %s/%s (dry run): %w", opts.Tenant, opts.Env, runErr)
	}
	if errors.Is(runErr, lock.ErrTeamHeld) {
		// Another machine holds the lease: nothing changed, and a record written outside the
		// lease would fork the team's chain.
		return out, fmt.Errorf("deploy %s/%s: %w", opts.Tenant, opts.Env, runErr)
	}
	if !st.resolved {
		// The tenant or env is not known: there is no record to write, and nothing happened.
		return out, fmt.Errorf("deploy %s/%s: %w", opts.Tenant, opts.Env, runErr)
	}
	st.finish(ctx, runErr)
	// The ending goes into the reservation first (in the space it holds, whatever the disk),
	// so that a record that cannot be written is written by the next run as it ended, not as
	// "never verified"; then that space is given back for the record itself.
	if err := st.attempt.Update(st.Record); err != nil {
		st.notef("record", "COULD NOT keep this run's ending (%s, version %s) in its reservation: %v", st.Record.Status, orUnknown(st.Record.VersionID), err)
	}
	if err := st.attempt.Free(); err != nil {
		opts.Log.Warn("could not free the reservation's space for the record", "err", err)
	}
	file, werr := st.writeRecord()
	out.Record, out.RecordFile = st.Record, file
	if werr == nil {
		// What was written, with the fields the store fills (chain hash, schema version).
		if es, err := history.Open(opts.Workspace.DeploymentsDir()).Entries(string(opts.Tenant), string(opts.Env)); err == nil && len(es) > 0 && es[0].Path == file {
			out.Record = es[0].Record
		}
	}
	if werr != nil {
		if st.attempt != nil {
			werr = fmt.Errorf("%w; the attempt stays reserved in %s and the next deploy or rollback of %s/%s records it", werr,
				history.AttemptPath(opts.Workspace.DeploymentsDir(), string(opts.Tenant), string(opts.Env)), opts.Tenant, opts.Env)
		}
		return out, errors.Join(runErr, werr)
	}
	if err := st.attempt.Done(); err != nil {
		opts.Log.Warn("could not remove the reserved record; the next run will record the attempt twice", "err", err)
	}
	out.Tag = st.tag(ctx, file)
	st.notify(ctx, file)
	switch st.Record.Status {
	case history.StatusSucceeded, history.StatusUnchanged:
		return out, nil
	}
	return out, fmt.Errorf("%w: %s/%s ended %s: %s", ErrFailed, opts.Tenant, opts.Env, st.Record.Status, st.Record.Error)
}

// State is what the steps share.
type State struct {
	Opts Options

	Tenant   *tenant.Tenant
	Env      tenant.Env
	Resolved tenant.ResolvedEnv
	resolved bool

	Token  creds.Token
	API    *cfapi.Client
	RunDir string
	Bundle wrangler.Bundle
	// Inputs hashes the files the bundle is built from ("" when they could not be read).
	Inputs      string
	Fingerprint string
	Plan        Plan
	Lock        *lock.Lock
	Deployed    wrangler.DeployResult
	// deployErr is how the deploy (or upload) step's wrangler run failed, for the record.
	deployErr error
	// attempt is the record reserved under the lock, removed once the record is written.
	attempt *history.Attempt
	// Settled is the record this run wrote for an attempt a killed run left, if any.
	Settled *history.Settled
	// live is true once a new version may be serving: from then on a failure rolls back.
	live   bool
	Health health.Result
	// immediate: a gradual rollout was asked for but is impossible, and falls back.
	immediate bool
	// override is the version-override header value plugins get while a gate runs.
	override string

	Record  history.Record
	started time.Time
	// wlog keeps every wrangler run's output (ANSI and token removed) in RunDir/wrangler.log.
	wlog *os.File
}

// openRunDir creates .state/runs/<tenant>-<env>-<stamp>/: wrangler's private HOME/TMPDIR,
// its debug logs and our copy of its output stay there for a post-mortem.
func (st *State) openRunDir() error {
	dir := filepath.Join(st.Opts.Workspace.RunsDir(),
		string(st.Opts.Tenant)+"-"+string(st.Env)+"-"+st.started.Format("20060102T150405.000000000Z"))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, "wrangler.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	st.RunDir, st.wlog = dir, f
	pruneRuns(filepath.Dir(dir), string(st.Opts.Tenant)+"-"+string(st.Env)+"-", keepRuns)
	return nil
}

// keepRuns is how many run folders of one tenant/env are kept for post-mortems.
const keepRuns = 10

// pruneRuns removes all but the newest keep run folders whose names start with prefix (the
// names end in a fixed-width UTC stamp, so name order is time order).
func pruneRuns(parent, prefix string, keep int) {
	des, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	var runs []string
	for _, de := range des {
		rest, ok := strings.CutPrefix(de.Name(), prefix)
		// "acme-staging-" must not match the runs of tenant "acme-staging-eu": the rest is a stamp.
		if ok && de.IsDir() && len(rest) > 0 && rest[0] >= '0' && rest[0] <= '9' {
			runs = append(runs, de.Name())
		}
	}
	slices.Sort(runs)
	for _, r := range runs[:max(0, len(runs)-keep)] {
		_ = os.RemoveAll(filepath.Join(parent, r))
	}
}

// invocation is the wrangler run description for this tenant/env.
func (st *State) invocation() wrangler.Invocation {
	inv := wrangler.Invocation{
		ConfigPath: st.Tenant.WranglerPath(), Env: st.Resolved.WranglerEnv, AccountID: st.Resolved.AccountID,
		Token: st.Token.Value, APIBaseURL: st.Opts.APIBaseURL, ScratchDir: st.RunDir, KeepScratch: true,
	}
	if st.wlog != nil {
		inv.Output = st.wlog
	}
	// An upload never bundles what is already bundled: a bundle cached for these exact inputs
	// is this tenant's own build, and a fleet's shared build is the same code built once for
	// every tenant with its build key. wrangler still reads the tenant's config for everything
	// else (bindings, vars, triggers), so only the bundling is skipped.
	switch {
	case st.Bundle.MainModule != "":
		inv.Prebuilt = st.Bundle.MainModule
	case st.Opts.Prebuilt != nil:
		inv.Prebuilt = st.Opts.Prebuilt.MainModule
	}
	return inv
}

func (st *State) step(name string, start time.Time) {
	d := time.Since(start)
	st.Record.Steps = append(st.Record.Steps, history.Step{Name: name, Start: start.UTC(), DurationMS: d.Milliseconds()})
}
