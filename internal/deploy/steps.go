package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/buildcache"
	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/health"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/lock"
	"github.com/rainbowsmoke/crispy-enigma/internal/plugins"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// Step is one stage of a deploy.
type Step interface {
	Name() string
	Run(ctx context.Context, st *State) error
}

// pipeline is a deploy, in order. Nothing before lock changes anything outside .build and
// .state; nothing before deploy changes anything on Cloudflare.
var pipeline = []Step{
	resolveStep{},                      // tenant and env names checked, files loaded, env resolved: before any side effect
	checksStep{},                       // the tree's deploy checks did not fail (refused and recorded if they did)
	validateStep{},                     // the same checks as `mage validate`
	credentialsStep{},                  // the tenant's token, before anything is built
	preflightStep{},                    // the account is ready: token, permissions, KV/Vectorize/DO, required secrets
	buildStep{},                        // the cached bundle of these inputs, or for a dry run wrangler deploy --dry-run; else deferred to deploy
	fingerprintStep{},                  // sha256 of the bundle and the resolved deploy config (deferred with the build)
	planStep{},                         // what is live; stop here when it is already this fingerprint, or for a dry run
	rolloutCheckStep{},                 // -rollout: a gradual rollout is possible, or refused / fallen back before any upload
	pluginStep{plugins.PreDeploy},      // the operator's pre-deploy plugins: non-zero refuses before any upload
	lockStep{},                         // one deploy per tenant/env
	either{uploadStep{}, deployStep{}}, // wrangler deploy (building, when deferred) or, gradual, versions upload; from here a failure rolls back
	either{gateStep{}, verifyStep{}},   // the health URL answers healthy with the new version id (gradual: pinned at 0%, plugins too)
	either{noStep{}, pluginStep{plugins.PostDeploy}}, // post-deploy plugins (the smoke test): non-zero rolls back
	stepsStep{},    // gradual: traffic moved step by step, each baked while both versions are sampled
	annotateStep{}, // mark the live deployment with the fingerprint, for the next plan
	healthStep{},   // the last check, before the record: the version the record names is live alone and healthy
}

// noStep does nothing: the gradual side of a step a gradual rollout does elsewhere.
type noStep struct{}

func (noStep) Name() string                      { return "" }
func (noStep) Run(context.Context, *State) error { return nil }

// errDryRun and errUnchanged end the pipeline early without failing it; errDeferred marks a
// step whose work a later step does, and the pipeline goes on.
var (
	errDryRun    = errors.New("dry run: stopped after planning")
	errUnchanged = errors.New("unchanged: the live version already runs this fingerprint")
	errDeferred  = errors.New("deferred to the deploy step")
)

// stepError carries the name of the step that failed.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func (st *State) runSteps(ctx context.Context, steps []Step) error {
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return &stepError{s.Name(), err}
		}
		if e, ok := s.(either); ok {
			s = e.pick(st)
		}
		if _, ok := s.(noStep); ok {
			continue
		}
		if _, ok := s.(stepsStep); ok && !st.gradual() {
			continue
		}
		if _, ok := s.(rolloutCheckStep); ok && st.Opts.Rollout == nil {
			continue
		}
		// Holding the lock, every step may change Cloudflare: the team's lease must still be ours.
		if err := st.Lock.Check(ctx); err != nil {
			return &stepError{s.Name(), err}
		}
		start := time.Now()
		err := s.Run(ctx, st)
		st.step(s.Name(), start)
		st.progress(s.Name(), time.Since(start), err)
		var soft *softError
		if errors.Is(err, errDeferred) || errors.As(err, &soft) {
			continue
		}
		if err != nil {
			if errors.Is(err, errDryRun) || errors.Is(err, errUnchanged) {
				return err
			}
			return &stepError{s.Name(), err}
		}
	}
	return nil
}

func (st *State) progress(name string, d time.Duration, err error) {
	mark := "ok"
	switch {
	case errors.Is(err, errUnchanged):
		mark = "unchanged"
	case errors.Is(err, errDryRun):
		mark = "planned"
	case errors.Is(err, errDeferred):
		mark = "deferred"
	case errors.As(err, new(*softError)):
		mark = "FAILED (not fatal: " + err.Error() + ")"
	case err != nil:
		mark = "FAILED"
	}
	// 13: the longest step name (rollout-check), so the marks line up.
	fmt.Fprintf(st.Opts.Progress, "deploy %s/%s: %-13s %-9s %s\n", st.Opts.Tenant, st.Opts.Env, name, mark, d.Round(time.Millisecond))
	st.emit(Event{Step: name, Status: mark, Duration: d})
}

type resolveStep struct{}

func (resolveStep) Name() string { return "resolve" }
func (resolveStep) Run(ctx context.Context, st *State) error {
	// The name and env were parsed where the request came in; dev is refused here still,
	// because it is no request Run can carry out whoever builds the Options.
	env := st.Opts.Env
	if err := env.RequireCloud("; use the devserver, not a Cloudflare deploy"); err != nil {
		return err
	}
	t, err := tenant.Load(ctx, st.Opts.Workspace, string(st.Opts.Tenant))
	if err != nil {
		return err
	}
	r, err := t.Resolve(env)
	if err != nil {
		return err
	}
	st.Tenant, st.Env, st.Resolved, st.resolved = t, env, r, true
	p := history.Find(ctx, st.Opts.Workspace.Root, history.Lookup(st.Opts.Lookup))
	st.Record.Actor, st.Record.GitSHA, st.Record.GitDirty = p.Actor, p.GitSHA, p.GitDirty
	st.Record.WorkerName, st.Record.AccountID = r.WorkerName, r.AccountID
	if u, err := t.HealthURL(env); err == nil {
		st.Record.URL = u
	}
	return nil
}

type validateStep struct{}

func (validateStep) Name() string { return "validate" }
func (validateStep) Run(ctx context.Context, st *State) error {
	if st.Opts.Validate == nil {
		return nil
	}
	if err := st.Opts.Validate(ctx, st.Tenant); err != nil {
		return fmt.Errorf("%w (run `go tool mage validate %s` for every problem)", err, st.Opts.Tenant)
	}
	return nil
}

type credentialsStep struct{}

func (credentialsStep) Name() string { return "credentials" }
func (credentialsStep) Run(_ context.Context, st *State) error {
	tok, err := creds.For(string(st.Opts.Tenant), st.Resolved.AccountID, st.Opts.Workspace.Root, st.Opts.Lookup, st.Opts.SandboxToken)
	if err != nil {
		return err
	}
	api, err := cfapi.New(cfapi.Config{
		BaseURL: st.Opts.APIBaseURL, Token: tok.Value.Reveal(), AccountID: st.Resolved.AccountID,
		HTTPClient: st.Opts.HTTPClient, MaxRetries: 2, Timeout: 30 * time.Second, Log: st.Opts.Log,
	})
	if err != nil {
		return err
	}
	st.Token, st.API = tok, api
	st.Opts.Log.Debug("token found", "var", tok.Var, "source", tok.Source)
	return nil
}

type buildStep struct{}

// A dry-run build costs a node start and a bundling, about as much as the deploy, which
// bundles anyway. So the build is done here only when it is free (a bundle cached for these
// exact inputs) or needed before anything is uploaded (a dry run shows the plan). Otherwise
// the plan decides from the inputs hash the live deployment is annotated with, and a changed
// tree is built by the deploy itself (wrangler deploy --outdir): one wrangler run, not two.
func (buildStep) Name() string { return "build" }
func (buildStep) Run(ctx context.Context, st *State) error {
	if err := st.openRunDir(); err != nil {
		return fmt.Errorf("run folder: %w", err)
	}
	out := st.bundleDir()
	inputs, herr := buildcache.InputsHash(st.Opts.Workspace, st.Tenant.Dir, st.Resolved.WranglerEnv)
	if herr != nil {
		st.Opts.Log.Warn("could not hash the build inputs; building without the cache", "tenant", st.Opts.Tenant, "env", st.Opts.Env, "err", herr)
	}
	st.Inputs = inputs
	if herr == nil && !st.Opts.Force {
		if b, ok := buildcache.Lookup(out, inputs); ok && b.WorkerName == st.Resolved.WorkerName {
			st.Opts.Log.Debug("reusing the bundle built from the same inputs", "dir", out)
			st.Bundle, st.Record.BundleSHA256 = b, b.SHA256
			return nil
		}
	}
	if !st.Opts.DryRun {
		return errDeferred
	}
	buildcache.Invalidate(out)
	b, err := st.Opts.Runner.Build(ctx, st.invocation(), out)
	if err != nil {
		return err
	}
	if herr == nil {
		buildcache.Stamp(b, inputs)
	}
	if b.WorkerName != st.Resolved.WorkerName {
		return fmt.Errorf("wrangler built Worker %q but the tenant's config resolves to %q; check name in %s", b.WorkerName, st.Resolved.WorkerName, st.Tenant.WranglerPath())
	}
	st.Bundle = b
	st.Record.BundleSHA256 = b.SHA256
	return nil
}

// bundleDir is where the tenant/env's bundle is built and cached: .build/<tenant>/<env>.
func (st *State) bundleDir() string {
	return st.Opts.Workspace.BundleDir(string(st.Opts.Tenant), string(st.Env))
}

type fingerprintStep struct{}

func (fingerprintStep) Name() string { return "fingerprint" }
func (fingerprintStep) Run(_ context.Context, st *State) error {
	if st.Bundle.SHA256 == "" {
		return errDeferred
	}
	return st.adoptBundle(st.Bundle)
}

// adoptBundle makes b the bundle of this deploy: its sha256 and fingerprint go into the record.
func (st *State) adoptBundle(b wrangler.Bundle) error {
	fp, err := Fingerprint(b, st.Resolved)
	if err != nil {
		return err
	}
	st.Bundle = b
	st.Fingerprint = fp
	st.Record.BundleSHA256 = b.SHA256
	st.Record.ConfigFingerprint = fp
	return nil
}

type planStep struct{}

func (planStep) Name() string { return "plan" }
func (planStep) Run(ctx context.Context, st *State) error {
	p, err := makePlan(ctx, st)
	if err != nil {
		return err
	}
	st.Plan = p
	st.Record.PreviousVersionID = p.LiveVersionID
	st.takeLiveBuild(p)
	if st.Opts.DryRun {
		fmt.Fprintln(st.Opts.Progress, p.String())
		return errDryRun
	}
	// A reservation left by a killed run is settled under the lock, so an unchanged tree still
	// goes on to the lock step when there is one.
	if p.Unchanged && !st.Opts.Force && !history.Open(st.Opts.Workspace.DeploymentsDir()).Pending(string(st.Opts.Tenant), string(st.Env)) {
		st.Record.VersionID = p.LiveVersionID
		return errUnchanged
	}
	return nil
}

type lockStep struct{}

func (lockStep) Name() string { return "lock" }
func (lockStep) Run(ctx context.Context, st *State) error {
	l, err := lock.Acquire(st.Opts.Workspace.LocksDir(), string(st.Opts.Tenant), string(st.Env),
		lock.Options{Command: st.Opts.Command, Log: st.Opts.Log, Context: ctx})
	if err != nil {
		return err
	}
	st.Lock = l
	st.Record.Lease = l.Note()
	// Another deploy may have finished between our plan and our lock: plan again under the
	// lock, so that we neither redeploy what it put live nor roll back to what it replaced.
	p, err := makePlan(ctx, st)
	if err != nil {
		return err
	}
	st.Plan = p
	st.Record.PreviousVersionID = p.LiveVersionID
	st.takeLiveBuild(p)
	store := history.Open(st.Opts.Workspace.DeploymentsDir())
	// Holding the lock, any reservation left is a killed run's: write its record first.
	settled, ok, err := store.Settle(string(st.Opts.Tenant), string(st.Env), p.LiveVersionID, st.Token.Value.Reveal())
	if err != nil {
		return &history.WritableError{Dir: store.Dir, Err: err}
	}
	if ok && settled.Reservation.Record.Status != "" {
		st.Settled = &settled // not Live: its version was verified, or rolled back, by its own run
		st.notef("lock", "the previous attempt (pid %d on %s) ended %s but could not write its record; wrote it in %s",
			settled.Reservation.PID, settled.Reservation.Host, settled.Reservation.Record.Status, settled.File)
	} else if ok {
		st.Settled = &settled
		st.notef("lock", "the previous attempt (pid %d on %s, %s) was killed before it finished; recorded it as interrupted in %s",
			settled.Reservation.PID, settled.Reservation.Host, settled.Reservation.ReservedAt.Format(time.RFC3339), settled.File)
		if settled.Live {
			st.notef("lock", "it had left version %s live, never verified; this deploy replaces it", p.LiveVersionID)
		}
	}
	if p.Unchanged && !st.Opts.Force {
		st.Record.VersionID = p.LiveVersionID
		return errUnchanged
	}
	if p.Why != "" {
		// Say why this run uploads: after a secret change killed before it carried the
		// annotation over, "carries no fingerprint" is the answer an operator looks for.
		st.notef("lock", "uploading a new version: %s", p.Why)
	}
	// The record is reserved before anything is uploaded: a records folder that cannot take it
	// stops the deploy here, and a run killed from now on leaves what it knew for the next.
	host, _ := os.Hostname()
	att, err := store.Reserve(os.Getpid(), host, st.Opts.Command, st.Record, st.Token.Value.Reveal())
	if err != nil {
		return err
	}
	st.attempt = att
	return nil
}

// takeLiveBuild records the live build's fingerprint and bundle as ours when the plan found,
// without a local build, that our inputs are the ones the live version was built from.
func (st *State) takeLiveBuild(p Plan) {
	if st.Fingerprint == "" && p.Unchanged {
		st.Record.ConfigFingerprint, st.Record.BundleSHA256 = p.Fingerprint, p.BundleSHA256
	}
}

type deployStep struct{}

func (deployStep) Name() string { return "deploy" }
func (deployStep) Run(ctx context.Context, st *State) error {
	st.live = true // from here on the new version may be serving, whatever wrangler says
	st.intend("wrangler deploy of a new version of " + st.Resolved.WorkerName + " at 100%")
	defer st.keepVersion()
	for try := 1; ; try++ {
		err := st.deployOnce(ctx)
		st.deployErr = err
		why, wait, again := st.retryTransient(ctx, err, try)
		if !again {
			return withHint(err)
		}
		st.notef("deploy", "%s; retrying in %s (%d of %d)", why, wait, try, maxRateLimitRetries)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

func (st *State) deployOnce(ctx context.Context) error {
	if st.Bundle.SHA256 == "" {
		return st.buildAndDeploy(ctx)
	}
	res, err := st.Opts.Runner.Deploy(ctx, st.invocation())
	if err != nil {
		return err
	}
	st.Deployed = res
	st.Record.VersionID = res.VersionID
	st.Record.Targets = res.Targets
	return nil
}

// maxRateLimitRetries bounds how often a deploy that failed for a transient reason (a 429 and
// the others wrangler.CommandError.Transient names) is run again.
const maxRateLimitRetries = 2

// rateLimitWait is the wait before the try'th retry. wrangler does not pass Cloudflare's
// Retry-After on, so the waits are fixed: long enough for a per-second limit, short enough
// that a spent five-minute budget fails soon with a clear error instead of hanging.
func rateLimitWait(try int) time.Duration { return 3 * time.Second << (try - 1) }

// retryTransient says whether a deploy that failed with err is run again, why, and after how
// long: only a transient failure (wrangler.CommandError.Transient) that left nothing live (no
// version reported and the live version still the one planned against: a version uploaded
// but never deployed is harmless), a bounded number of times, and only within ctx's deadline.
func (st *State) retryTransient(ctx context.Context, err error, try int) (string, time.Duration, bool) {
	var ce *wrangler.CommandError
	if err == nil || try > maxRateLimitRetries || !errors.As(err, &ce) || ce.VersionID != "" || st.Record.VersionID != "" {
		return "", 0, false
	}
	why, transient := ce.Transient()
	if !transient {
		return "", 0, false
	}
	wait := rateLimitWait(try)
	if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
		return "", 0, false
	}
	live, lerr := st.API.LiveDeployment(ctx, st.Resolved.WorkerName)
	switch {
	case lerr == nil && live.Primary().VersionID == st.Plan.LiveVersionID:
	case errors.Is(lerr, cfapi.ErrNotDeployed) && st.Plan.LiveVersionID == "":
	case lerr == nil && strings.HasPrefix(why, "the connection") && st.ownUpload(ctx, live):
		// The deployment was made and its answer lost: what is live is this run's own upload,
		// the same bundle. Running wrangler again deploys it once more and sets its triggers,
		// which wrangler never reached; the health gate then verifies it as usual.
		why += "; read back: version " + live.Primary().VersionID + ", uploaded by this run, went live without wrangler hearing of it"
		return why, wait, true
	default:
		return "", 0, false
	}
	return why + " before anything went live", wait, true
}

// ownUpload reports whether live is one version alone at 100% that this run uploaded: the
// newest version, created since the run started (a minute of slack for clock skew; the lock
// keeps other deploys of the tool out meanwhile), not the one planned against.
func (st *State) ownUpload(ctx context.Context, live cfapi.Deployment) bool {
	p := live.Primary()
	if len(live.Versions) != 1 || p.Percentage < 100 || p.VersionID == st.Plan.LiveVersionID {
		return false
	}
	vs, err := st.API.Versions(ctx, st.Resolved.WorkerName, 1)
	return err == nil && len(vs) == 1 && vs[0].ID == p.VersionID && vs[0].CreatedOn.After(st.started.Add(-time.Minute))
}

// withHint adds to a wrangler failure the operator's next step where Cloudflare's code has
// one that its message does not give.
func withHint(err error) error {
	var ce *wrangler.CommandError
	if !errors.As(err, &ce) {
		return err
	}
	switch ce.Code {
	case "10211":
		return fmt.Errorf("%w; Cloudflare applies a Durable Object migration only with a full deploy, never with a version upload: deploy this change without -rollout", err)
	}
	return err
}

// buildAndDeploy is the deploy of a deferred build: wrangler builds into the bundle folder and
// uploads in one run, and the bundle it kept gives the record its sha256 and fingerprint, the
// annotation its values and the next run its cache.
func (st *State) buildAndDeploy(ctx context.Context) error {
	out := st.bundleDir()
	buildcache.Invalidate(out)
	res, b, err := st.Opts.Runner.DeployKeep(ctx, st.invocation(), out)
	if res.VersionID != "" {
		st.Deployed = res
		st.Record.VersionID = res.VersionID
		st.Record.Targets = res.Targets
	}
	if b.SHA256 != "" {
		if ferr := st.adoptBundle(b); ferr != nil && err == nil {
			err = ferr
		}
		if st.Inputs != "" && b.WorkerName == st.Resolved.WorkerName {
			buildcache.Stamp(b, st.Inputs)
		}
	}
	if errors.Is(err, wrangler.ErrBundleNotKept) && res.VersionID != "" {
		// The new version is live and about to be verified; only our copy of what it runs is
		// missing, which is no reason to take it down. Left unannotated, the next run redeploys.
		st.Opts.Log.Warn("the deploy is live, but the bundle it uploaded could not be read; the record lacks its sha256 and fingerprint",
			"tenant", st.Opts.Tenant, "env", st.Opts.Env, "err", err)
		err = nil
	}
	if err != nil {
		return err
	}
	if res.WorkerName != st.Resolved.WorkerName {
		return fmt.Errorf("wrangler deployed Worker %q but the tenant's config resolves to %q; check name in %s and what `wrangler deployments list --name %s` shows",
			res.WorkerName, st.Resolved.WorkerName, st.Tenant.WranglerPath(), res.WorkerName)
	}
	return nil
}

type verifyStep struct{}

func (verifyStep) Name() string { return "verify" }
func (verifyStep) Run(ctx context.Context, st *State) error {
	res, err := st.checkHealth(ctx, st.Deployed.VersionID)
	st.Health = res
	return err
}

// checkHealth polls the tenant's health URL for version.
func (st *State) checkHealth(ctx context.Context, version string) (health.Result, error) {
	if st.Record.URL == "" {
		return health.Result{}, fmt.Errorf("no health URL: the env needs workers_dev and the tenant a workers_dev_subdomain")
	}
	deadline := st.Tenant.Config.HealthCheck.Deadline()
	if st.Opts.HealthDeadline > 0 {
		deadline = st.Opts.HealthDeadline
	}
	return st.checkHealthHeader(ctx, version, nil, deadline)
}

// checkHealthHeader polls the health URL for version with extra request headers, within
// deadline (0: the tenant's).
func (st *State) checkHealthHeader(ctx context.Context, version string, h http.Header, deadline time.Duration) (health.Result, error) {
	if st.Record.URL == "" {
		return health.Result{}, fmt.Errorf("no health URL: the env needs workers_dev and the tenant a workers_dev_subdomain")
	}
	if deadline <= 0 {
		deadline = st.Tenant.Config.HealthCheck.Deadline()
		if st.Opts.HealthDeadline > 0 {
			deadline = st.Opts.HealthDeadline
		}
	}
	return health.Wait(ctx, health.Check{
		URL: st.Record.URL, Expect: st.Tenant.Config.HealthCheck.Expect, Version: version,
		Deadline: deadline, Client: st.Opts.HTTPClient, Header: h,
	})
}

type annotateStep struct{}

func (annotateStep) Name() string { return "annotate" }
func (annotateStep) Run(ctx context.Context, st *State) error {
	ann := Annotation{Fingerprint: st.Fingerprint, Inputs: st.Inputs, Bundle: st.Bundle.SHA256, GitSHA: st.Record.GitSHA}
	if ann.Fingerprint == "" {
		// Without a fingerprint the inputs must not vouch for the live code either.
		ann.Inputs, ann.Bundle = "", ""
	}
	msg := ann.String()
	st.intend("annotate " + st.Deployed.VersionID + " (a deployment of it at 100% carrying its fingerprint)")
	if err := annotate(ctx, st, st.Deployed.VersionID, msg); err != nil {
		if errors.Is(err, cfapi.ErrLiveChanged) {
			// Somebody else's version serves now: this deploy is not what is live, whatever
			// its verify said, and the record must not call it succeeded.
			return err
		}
		// The deploy itself is verified and live; without the mark the next run redeploys.
		st.Opts.Log.Warn("could not mark the live deployment with its fingerprint; the next deploy will upload again",
			"tenant", st.Opts.Tenant, "env", st.Opts.Env, "err", err)
		return &softError{err}
	}
	return nil
}

// keepVersion writes what the upload reported (the version id) into the reservation, for the
// next run if this one is killed. Failing that is loud: the version is on Cloudflare and the
// next run would not know it came from this attempt.
func (st *State) keepVersion() {
	if err := st.attempt.Update(st.Record); err != nil {
		st.notef("deploy", "COULD NOT write version %s into the reservation %s: %v; if this run is killed now, the next one cannot tell that version came from it",
			orUnknown(st.Record.VersionID), history.AttemptPath(st.Opts.Workspace.DeploymentsDir(), string(st.Opts.Tenant), string(st.Env)), err)
	}
}

// intend writes the record so far into the reservation with the change about to be made on
// Cloudflare, before the call that makes it (write ahead). A reservation that cannot be written
// is warned about: the change goes ahead, as the reservation is a help for the next run.
func (st *State) intend(next string) {
	if err := st.attempt.Intend(st.Record, next); err != nil {
		st.Opts.Log.Warn("could not update the reserved record before a change", "tenant", st.Opts.Tenant, "env", st.Opts.Env, "next", next, "err", err)
	}
}

// finalHealthDeadline bounds the last health check: the version passed its verify moments ago,
// so this is a few attempts past a blip, not a second wait for a cold start.
const finalHealthDeadline = 10 * time.Second

// healthStep is the deploy's last check, made before the record is written so that the exit
// code, the record's status and what is live agree whatever happens after verify: the live
// deployment must be the version the record names, alone, and its health URL must answer
// healthy with that version. A failure here rolls back like any failure after the upload.
type healthStep struct{}

func (healthStep) Name() string { return "health" }
func (healthStep) Run(ctx context.Context, st *State) error {
	return st.finalHealth(ctx)
}

func (st *State) finalHealth(ctx context.Context) error {
	want := st.Record.VersionID
	live, err := st.API.LiveDeployment(ctx, st.Resolved.WorkerName)
	if err != nil {
		return fmt.Errorf("reading the live deployment for the final check: %w", err)
	}
	if ids := live.VersionIDs(); len(ids) != 1 || ids[0] != want {
		return &cfapi.LiveChangedError{Script: st.Resolved.WorkerName, When: "after", Expected: []string{want}, Found: ids}
	}
	deadline := min(finalHealthDeadline, st.Tenant.Config.HealthCheck.Deadline())
	if st.Opts.HealthDeadline > 0 {
		deadline = min(deadline, st.Opts.HealthDeadline)
	}
	res, err := st.checkHealthHeader(ctx, want, nil, deadline)
	st.Health = res
	if err != nil {
		return fmt.Errorf("the final health check of %s: %w", want, err)
	}
	// The line `go tool mage health` prints, so an operator sees the same words.
	fmt.Fprintf(st.Opts.Progress, "health: %s/%s: healthy, version %s at %s\n", st.Opts.Tenant, st.Opts.Env, want, res.URL)
	return nil
}

// softError is a step that failed without failing the deploy: its progress line says FAILED
// (never ok), the pipeline goes on.
type softError struct{ err error }

func (e *softError) Error() string { return e.err.Error() }
func (e *softError) Unwrap() error { return e.err }

// finish sets the record's status and error from how the steps ended, rolling back first when
// a new version may be live and is not verified.
func (st *State) finish(ctx context.Context, runErr error) {
	rec := &st.Record
	switch {
	case runErr == nil:
		rec.Status = history.StatusSucceeded
	case errors.Is(runErr, errUnchanged):
		rec.Status = history.StatusUnchanged
	case ctx.Err() != nil && st.gradual() && len(rec.Rollout) > 0:
		// A rollout stopped mid-way leaves its split: a defined state that deploy:status
		// shows and deploy:promote or deploy:abort settles, not a guess made in a hurry.
		rec.Error = runErr.Error()
		st.leaveSplit()
		rec.Status = history.StatusInterrupted
	case ctx.Err() != nil:
		rec.Error = runErr.Error()
		if st.live {
			st.restoreInterrupted(ctx)
		}
		rec.Status = history.StatusInterrupted
	case st.live:
		rec.Error = runErr.Error()
		st.restore(ctx)
		if st.gradual() && rec.Status == history.StatusRolledBack {
			rec.Error += "; the rollout stopped at " + st.failedStep()
		}
	default:
		rec.Status = history.StatusFailed
		rec.Error = runErr.Error()
	}
	if h := st.Health; h.URL != "" {
		rec.Health = &history.Health{URL: h.URL, ExpectedVersion: h.ExpectedVersion, SeenVersion: h.SeenVersion,
			StatusCode: h.StatusCode, Attempts: h.Attempts, OK: h.OK}
	}
	rec.FinishedAt = time.Now().UTC()
}
