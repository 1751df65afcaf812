package deploy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/buildcache"
	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/health"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/plugins"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// Rollout asks for a gradual rollout instead of the immediate deploy.
type Rollout struct {
	// Percents are the new version's shares, increasing, the last 100.
	Percents []float64
	// Bake is how long each step holds while both versions are sampled.
	Bake time.Duration
	// FallbackImmediate deploys immediately where a gradual rollout is impossible (Durable
	// Object migration, first deploy, trigger changes); otherwise such a deploy is refused
	// before anything is uploaded.
	FallbackImmediate bool
}

// ParseRollout reads -rollout=10,50,100: increasing percentages in (0,100], ending at 100.
func ParseRollout(s string) ([]float64, error) {
	var out []float64
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSuffix(strings.TrimSpace(f), "%")
		p, err := strconv.ParseFloat(f, 64)
		switch {
		case err != nil || math.IsNaN(p) || math.IsInf(p, 0):
			return nil, fmt.Errorf("-rollout=%s: %q is not a number; write percentages, e.g. -rollout=10,50,100", s, f)
		case p <= 0:
			return nil, fmt.Errorf("-rollout=%s: %q is not above 0; each step gives the new version a share in (0,100]", s, f)
		case p > 100:
			return nil, fmt.Errorf("-rollout=%s: %q is over 100", s, f)
		}
		if len(out) > 0 && p <= out[len(out)-1] {
			return nil, fmt.Errorf("-rollout=%s: the percentages must increase (%v after %v)", s, p, out[len(out)-1])
		}
		out = append(out, p)
	}
	if len(out) == 0 || out[len(out)-1] != 100 {
		return nil, fmt.Errorf("-rollout=%s: the last step must be 100, so the rollout ends with the new version serving everything", s)
	}
	return out, nil
}

// overrideHeader pins a request to one version of the current deployment (also at 0%).
const overrideHeader = "Cloudflare-Workers-Version-Overrides"

// overrideValue is the header's value: an RFC 8941 dictionary, script name to quoted version.
func overrideValue(worker, version string) string {
	return worker + `="` + version + `"`
}

// gradual reports whether this deploy is a gradual rollout (asked for and possible).
func (st *State) gradual() bool { return st.Opts.Rollout != nil && !st.immediate }

// either runs gradual when the deploy is a gradual rollout, else immediate.
type either struct{ gradual, immediate Step }

func (e either) pick(st *State) Step {
	if st.gradual() {
		return e.gradual
	}
	return e.immediate
}

// The name is the immediate step's: a pipeline lists names before any tenant is known.
func (e either) Name() string { return e.immediate.Name() }
func (e either) Run(ctx context.Context, st *State) error {
	return e.pick(st).Run(ctx, st)
}

// rolloutCheckStep decides, before anything is uploaded, whether a gradual rollout is
// possible; if not, it refuses or (with FallbackImmediate) makes this an immediate deploy.
type rolloutCheckStep struct{}

func (rolloutCheckStep) Name() string { return "rollout-check" }
func (rolloutCheckStep) Run(ctx context.Context, st *State) error {
	if st.Opts.Rollout == nil {
		return nil
	}
	why, err := st.whyNotGradual(ctx)
	if err != nil {
		return fmt.Errorf("checking whether a gradual rollout is possible: %w", err)
	}
	if why == "" {
		return nil
	}
	if !st.Opts.Rollout.FallbackImmediate {
		return fmt.Errorf("a gradual rollout of %s is impossible: %s; nothing was uploaded. Deploy without -rollout, or add -rolloutFallback=immediate",
			st.Resolved.WorkerName, why)
	}
	st.immediate = true
	st.notef("rollout-check", "a gradual rollout is impossible (%s); deploying immediately (-rolloutFallback=immediate)", why)
	return nil
}

// whyNotGradual says why this deploy cannot be gradual ("" when it can): a version upload
// carries no Durable Object migration and no triggers, and a split needs an old version.
func (st *State) whyNotGradual(ctx context.Context) (string, error) {
	worker := st.Resolved.WorkerName
	if st.Plan.LiveVersionID == "" {
		return "this is the first deploy of " + worker + ", so there is no old version to split traffic with", nil
	}
	live, err := st.API.LiveDeployment(ctx, worker)
	if err != nil {
		return "", err
	}
	if len(live.Versions) > 1 {
		return fmt.Sprintf("%s is already split between two versions (%s); settle it first with deploy:promote or deploy:abort", worker, splitString(live.Versions)), nil
	}
	script, err := st.API.Script(ctx, worker)
	if err != nil {
		return "", err
	}
	if m := st.Resolved.Migrations; len(m) > 0 && m[len(m)-1].Tag != script.MigrationTag {
		return fmt.Sprintf("the config adds Durable Object migration %s (live: %s), which only a deploy applies (Cloudflare refuses it in a version upload, 10211)",
			m[len(m)-1].Tag, orNone(script.MigrationTag)), nil
	}
	if diff, err := st.triggerChanges(ctx); err != nil {
		return "", err
	} else if diff != "" {
		return "the triggers change (" + diff + "), and a version upload does not deploy triggers", nil
	}
	return "", nil
}

// triggerChanges compares the config's routes, custom domains and crons with the live ones.
func (st *State) triggerChanges(ctx context.Context) (string, error) {
	worker := st.Resolved.WorkerName
	var want, have []string
	for _, r := range st.Resolved.Routes {
		if r.CustomDomain {
			want = append(want, "domain "+r.Pattern)
		} else {
			want = append(want, "route "+r.Pattern)
		}
	}
	for _, c := range st.Resolved.Crons {
		want = append(want, "cron "+c)
	}
	routes, err := st.API.Routes(ctx, worker)
	if err != nil {
		return "", err
	}
	for _, r := range routes {
		have = append(have, "route "+r.Pattern)
	}
	domains, err := st.API.Domains(ctx, worker)
	if err != nil {
		return "", err
	}
	for _, d := range domains {
		have = append(have, "domain "+d.Hostname)
	}
	scheds, err := st.API.Schedules(ctx, worker)
	if err != nil {
		return "", err
	}
	for _, s := range scheds {
		have = append(have, "cron "+s.Cron)
	}
	var diff []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			diff = append(diff, "+"+w)
		}
	}
	for _, h := range have {
		if !slices.Contains(want, h) {
			diff = append(diff, "-"+h)
		}
	}
	slices.Sort(diff)
	return strings.Join(diff, ", "), nil
}

func splitString(vs []cfapi.TrafficSplit) string {
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		parts = append(parts, fmt.Sprintf("%s@%v%%", v.VersionID, v.Percentage))
	}
	return strings.Join(parts, " ")
}

// uploadStep is a gradual rollout's upload: `wrangler versions upload`, which serves nothing.
// When the build was deferred it also builds (--outdir, --outfile), in the same wrangler run,
// the bundle that gives the record its sha256 and fingerprint and the next run its cache.
type uploadStep struct{}

func (uploadStep) Name() string { return "upload" }
func (uploadStep) Run(ctx context.Context, st *State) error {
	st.live = true // from here a failure puts the old version back alone at 100%
	defer st.keepVersion()
	msg := "rollout of " + orNone(st.Fingerprint)
	var up wrangler.VersionUpload
	var err error
	if st.Bundle.SHA256 == "" {
		out := st.bundleDir()
		buildcache.Invalidate(out)
		var b wrangler.Bundle
		up, b, err = st.Opts.Runner.VersionsUploadKeep(ctx, st.invocation(), out, "", "rollout")
		if b.SHA256 != "" {
			if ferr := st.adoptBundle(b); ferr != nil && err == nil {
				err = ferr
			}
			if st.Inputs != "" && b.WorkerName == st.Resolved.WorkerName {
				buildcache.Stamp(b, st.Inputs)
			}
		}
	} else {
		up, err = st.Opts.Runner.VersionsUpload(ctx, st.invocation(), "", msg)
	}
	if up.VersionID != "" {
		st.Deployed = wrangler.DeployResult{WorkerName: up.WorkerName, VersionID: up.VersionID}
		st.Record.VersionID = up.VersionID
	}
	if err != nil {
		return withHint(err)
	}
	if up.WorkerName != "" && up.WorkerName != st.Resolved.WorkerName {
		return fmt.Errorf("wrangler uploaded a version of Worker %q but the tenant's config resolves to %q; check name in %s", up.WorkerName, st.Resolved.WorkerName, st.Tenant.WranglerPath())
	}
	return nil
}

// gateStep deploys the new version at 0% beside the old one at 100% and checks it through the
// override header: health, then the post-deploy plugins with the header in their environment.
type gateStep struct{}

func (gateStep) Name() string { return "verify" }
func (gateStep) Run(ctx context.Context, st *State) error {
	rs := history.RolloutStep{Step: 0, Percent: 0, Start: time.Now().UTC()}
	st.Record.Rollout = append(st.Record.Rollout, rs)
	st.intend(fmt.Sprintf("rollout step 0: %s at 0%% beside %s at 100%%", st.Deployed.VersionID, st.Plan.LiveVersionID))
	dep, err := st.splitTo(ctx, 0, 0)
	if err != nil {
		st.gate("failed: " + err.Error())
		return fmt.Errorf("rollout step 0 (0%%): %w", err)
	}
	st.Record.Rollout[0].DeploymentID = dep
	res, err := st.checkHealthOf(ctx, st.Deployed.VersionID, 0)
	st.Health = res
	st.Record.Rollout[0].NewSamples = res.Attempts
	if err != nil {
		st.gate(gateFailure(ctx, err))
		return fmt.Errorf("rollout step 0 (0%%, the new version pinned by %s): %w", overrideHeader, err)
	}
	st.override = overrideValue(st.Resolved.WorkerName, st.Deployed.VersionID)
	err = st.runPlugins(ctx, plugins.PostDeploy, true)
	st.override = ""
	if err != nil {
		st.gate(gateFailure(ctx, err))
		return fmt.Errorf("rollout step 0 (0%%): post-deploy plugins: %w", err)
	}
	st.gate("passed")
	return nil
}

func gateFailure(ctx context.Context, err error) string {
	if ctx.Err() != nil {
		return "interrupted"
	}
	return "failed: " + err.Error()
}

// gate sets the last rollout step's gate result and keeps it in the reservation.
func (st *State) gate(result string) {
	if n := len(st.Record.Rollout); n > 0 {
		st.Record.Rollout[n-1].Gate = result
	}
	if err := st.attempt.Update(st.Record); err != nil {
		st.Opts.Log.Warn("could not update the reserved record", "tenant", st.Opts.Tenant, "env", st.Opts.Env, "err", err)
	}
}

// splitTo deploys the new version at p% and the old one at the rest, through `wrangler
// versions deploy`; step names the step in the deployment's message.
func (st *State) splitTo(ctx context.Context, step int, p float64) (string, error) {
	splits := []wrangler.Split{{VersionID: st.Deployed.VersionID, Percent: p}}
	if p < 100 {
		splits = append(splits, wrangler.Split{VersionID: st.Plan.LiveVersionID, Percent: 100 - p})
	}
	msg := fmt.Sprintf("rollout %s: step %d, %v%%", st.Deployed.VersionID, step, p)
	res, err := st.Opts.Runner.VersionsDeploy(ctx, st.invocation(), splits, msg)
	for try := 1; try <= maxRateLimitRetries && notYetReadable(err); try++ {
		// wrangler reads each version before it deploys; one uploaded a moment ago may not
		// be readable yet (100146). Nothing was deployed, so asking again is safe.
		wait := rateLimitWait(try)
		st.notef("rollout", "Cloudflare cannot read version %s yet (code 100146, read-after-write); asking again in %s (%d of %d)",
			st.Deployed.VersionID, wait, try, maxRateLimitRetries)
		select {
		case <-ctx.Done():
			return "", errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		res, err = st.Opts.Runner.VersionsDeploy(ctx, st.invocation(), splits, msg)
	}
	var ce *wrangler.CommandError
	if errors.As(err, &ce) && (ce.Code == "10220" || strings.Contains(ce.Message, "secrets have changed")) {
		// A version upload copies the newest version's secrets; after a rollback past a secret
		// change those are not the live version's, and Cloudflare will not split the two.
		return "", fmt.Errorf("%w; the new version's secrets (copied from the newest version) differ from the live version's, as after a rollback past a secret change, "+
			"and Cloudflare does not split traffic between them: deploy without -rollout, which puts the new version at 100%% at once", err)
	}
	if err != nil {
		return "", err
	}
	st.notef("rollout", "rollout step %d: %s at %v%%, %s at %v%%",
		step, st.Deployed.VersionID, p, st.Plan.LiveVersionID, 100-p)
	return res.DeploymentID, nil
}

// notYetReadable: wrangler failed because Cloudflare could not yet read a version made a
// moment before (100146).
func notYetReadable(err error) bool {
	var ce *wrangler.CommandError
	return errors.As(err, &ce) && ce.Code == "100146"
}

// checkHealthOf polls the health URL with the version pinned by the override header; at
// 100% (p) the plain URL is checked: what every visitor gets.
func (st *State) checkHealthOf(ctx context.Context, version string, p float64) (health.Result, error) {
	if p >= 100 {
		return st.checkHealth(ctx, version)
	}
	h := http.Header{}
	h.Set(overrideHeader, overrideValue(st.Resolved.WorkerName, version))
	return st.checkHealthHeader(ctx, version, h, 0)
}

// stepsStep moves traffic step by step, baking each and sampling both versions; the last step
// puts the new version alone at 100% and verifies it as an immediate deploy's verify does.
type stepsStep struct{}

func (stepsStep) Name() string { return "rollout" }
func (stepsStep) Run(ctx context.Context, st *State) error {
	if !st.gradual() {
		return nil
	}
	for i, p := range st.Opts.Rollout.Percents {
		n := i + 1
		st.Record.Rollout = append(st.Record.Rollout, history.RolloutStep{Step: n, Percent: p, Start: time.Now().UTC()})
		// Write ahead: the reservation names the step before the split goes live, so a run
		// killed between the two never leaves a record with fewer steps than are live.
		st.intend(fmt.Sprintf("rollout step %d: %s at %v%% beside %s", n, st.Deployed.VersionID, p, st.Plan.LiveVersionID))
		dep, err := st.splitTo(ctx, n, p)
		if err != nil {
			st.gate(gateFailure(ctx, err))
			return fmt.Errorf("rollout step %d (%v%%): %w", n, p, err)
		}
		st.Record.Rollout[len(st.Record.Rollout)-1].DeploymentID = dep
		if err := st.attempt.Update(st.Record); err != nil {
			st.Opts.Log.Warn("could not update the reserved record", "tenant", st.Opts.Tenant, "env", st.Opts.Env, "err", err)
		}
		if err := st.bake(ctx, p); err != nil {
			st.gate(gateFailure(ctx, err))
			return fmt.Errorf("rollout step %d (%v%%): %w", n, p, err)
		}
		if p >= 100 {
			res, err := st.checkHealth(ctx, st.Deployed.VersionID)
			st.Health = res
			if err != nil {
				st.gate(gateFailure(ctx, err))
				return fmt.Errorf("rollout step %d (%v%%): %w", n, p, err)
			}
		}
		st.gate("passed")
	}
	return nil
}

// sampleEvery is the pace of the health samples during a bake.
const sampleEvery = 500 * time.Millisecond

// bake holds the current split for the bake time, sampling the new version (and, below 100%,
// the old one) through the override header. One unhealthy answer of the new version fails the
// step: it has already served real traffic.
func (st *State) bake(ctx context.Context, p float64) error {
	end := time.Now().Add(st.Opts.Rollout.Bake)
	rs := &st.Record.Rollout[len(st.Record.Rollout)-1]
	for {
		if err := st.sample(ctx, st.Deployed.VersionID); err != nil {
			rs.NewSamples++
			return fmt.Errorf("the new version %s is unhealthy during the bake: %w", st.Deployed.VersionID, err)
		}
		rs.NewSamples++
		if p < 100 {
			rs.OldSamples++
			if err := st.sample(ctx, st.Plan.LiveVersionID); err != nil {
				rs.OldUnhealthy++
				st.Opts.Log.Warn("the old version answered unhealthy during the bake", "tenant", st.Opts.Tenant, "env", st.Opts.Env, "err", err)
			}
		}
		left := time.Until(end)
		if left <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(left, sampleEvery)):
		}
	}
}

// sample is one health request of version (pinned), allowed a few quick retries for a lost
// connection but not for an unhealthy answer's persistence.
func (st *State) sample(ctx context.Context, version string) error {
	h := http.Header{}
	h.Set(overrideHeader, overrideValue(st.Resolved.WorkerName, version))
	_, err := st.checkHealthHeader(ctx, version, h, 2*time.Second)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// leaveSplit is what an interrupted gradual rollout does: the split stays as it is (a
// well-defined state deploy:status shows and deploy:promote/abort settle), and the record says so.
func (st *State) leaveSplit() {
	rec := &st.Record
	n := len(rec.Rollout)
	if n == 0 {
		return
	}
	last := rec.Rollout[n-1]
	if last.Gate == "" {
		rec.Rollout[n-1].Gate = "interrupted"
	}
	rec.Error += fmt.Sprintf("; interrupted at rollout step %d with %s at %v%% and %s at %v%%, left as it is: run `go tool mage deploy:promote %s %s` or `go tool mage deploy:abort %s %s`",
		last.Step, rec.VersionID, last.Percent, st.Plan.LiveVersionID, 100-last.Percent, st.Opts.Tenant, st.Opts.Env, st.Opts.Tenant, st.Opts.Env)
}

// failedStep names the rollout step a failed gradual rollout stopped at.
func (st *State) failedStep() string {
	n := len(st.Record.Rollout)
	if n == 0 {
		return ""
	}
	last := st.Record.Rollout[n-1]
	return fmt.Sprintf("step %d (%v%%)", last.Step, last.Percent)
}
