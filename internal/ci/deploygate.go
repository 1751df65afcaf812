package ci

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/buildcache"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/validate"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// Scope is what a deploy ships: the tenants (names, never "all") into one Cloudflare env.
type Scope struct {
	Tenants []string
	Env     tenant.Env
}

// The names of the deploy gate's steps, in the order they run.
const (
	StepWorkerTypecheck = "worker-typecheck"
	StepWorkerTests     = "worker-tests"
	StepValidate        = "validate"
	StepBuild           = "build"
)

// Covers is what a pass of DeploySteps(o, s) vouches for, one string per fact: the Worker
// typechecks, its tests pass, each tenant validates, each tenant's env builds. A pass of
// another scope on the same tree vouches for its own facts, so the gates of two deploys of the
// same tree add up (.state/checks remembers their union).
func (s Scope) Covers() []string {
	c := []string{StepWorkerTypecheck, StepWorkerTests}
	for _, t := range s.Tenants {
		c = append(c, StepValidate+":"+t)
	}
	for _, t := range s.Tenants {
		c = append(c, StepBuild+":"+t+"/"+string(s.Env))
	}
	return c
}

// DeploySteps are the checks a deploy of s depends on, and nothing that guards only the tool
// (its lint and Go tests are `mage ci`'s, which CI runs on every push): the Worker's
// typecheck (tsc --noEmit), the Worker's own tests, validation of the tenants deployed, and a
// dry-run build of each deployed tenant's env (one per shared bundle key). The bundle is kept
// in the build cache, where the deploy finds it and does not build again.
func DeploySteps(o Options, s Scope) []Step {
	return []Step{WorkerTypecheck(o), WorkerTests(o), ValidateTenants(o, s.Tenants), BuildScope(o, s)}
}

// WorkerTests is the Worker's own unit tests (the test step's last part).
func WorkerTests(o Options) Step {
	return Step{Name: StepWorkerTests, Run: func(ctx context.Context, out io.Writer) error {
		return workerTests(ctx, out, o.Workspace)
	}}
}

// ValidateTenants is `mage validate <t>` of each tenant named.
func ValidateTenants(o Options, tenants []string) Step {
	return Step{Name: StepValidate, Run: func(ctx context.Context, out io.Writer) error {
		v, err := validate.New(o.Workspace, o.logger(), validate.Options{})
		if err != nil {
			return err
		}
		var failed []string
		for _, t := range tenants {
			report, err := v.Run(ctx, t)
			if err != nil {
				return err
			}
			if err := report.WriteText(out); err != nil {
				return err
			}
			if !report.OK() {
				failed = append(failed, t)
			}
		}
		if len(failed) > 0 {
			return fmt.Errorf("tenants that do not validate: %v (run `go tool mage validate <tenant>` for every problem)", failed)
		}
		fmt.Fprintf(out, "    %d tenant(s) valid\n", len(tenants))
		return nil
	}}
}

// BuildScope is a dry-run build of each tenant's env in s, once per shared bundle key
// (buildcache.SharedKey: tenants whose bundle would be the same are built once), each stamped
// into the build cache under its inputs so that the deploy reuses it.
func BuildScope(o Options, s Scope) Step {
	return Step{Name: StepBuild, Run: func(ctx context.Context, out io.Writer) error {
		wr := wrangler.New(o.Workspace, o.logger())
		seen := map[string]bool{}
		for _, name := range s.Tenants {
			t, err := tenant.Load(ctx, o.Workspace, name)
			if err != nil {
				return fmt.Errorf("build %s: %w", name, err)
			}
			r, err := t.Resolve(s.Env)
			if err != nil {
				return fmt.Errorf("build %s/%s: %w", name, s.Env, err)
			}
			if key, _, err := buildcache.SharedKey(o.Workspace, r); err == nil && key != "" {
				if seen[key] {
					continue
				}
				seen[key] = true
			}
			dir := o.Workspace.BundleDir(name, string(s.Env))
			inputs, herr := buildcache.InputsHash(o.Workspace, t.Dir, r.WranglerEnv)
			if herr == nil {
				if b, ok := buildcache.Lookup(dir, inputs); ok && b.WorkerName == r.WorkerName {
					fmt.Fprintf(out, "    %s/%s: built before from the same inputs\n", name, s.Env)
					continue
				}
			}
			start := time.Now()
			buildcache.Invalidate(dir)
			b, err := wr.Build(ctx, wrangler.Invocation{ConfigPath: t.WranglerPath(), Env: r.WranglerEnv, AccountID: r.AccountID}, dir)
			if err != nil {
				return fmt.Errorf("build %s/%s: %w", name, s.Env, err)
			}
			if herr == nil {
				buildcache.Stamp(b, inputs)
			}
			rel, _ := filepath.Rel(o.Workspace.Root, b.Dir)
			fmt.Fprintf(out, "    built %s/%s -> %s (%s)\n", name, s.Env, filepath.ToSlash(rel), round(time.Since(start)))
		}
		return nil
	}}
}

// CoversAll reports whether have includes every fact of want.
func CoversAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
