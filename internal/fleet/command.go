package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// DeployAllOptions is one `deploy:all` request.
type DeployAllOptions struct {
	// Env is staging or production, parsed by the caller (tenant.ParseCloudEnv with DevRefusal).
	Env             tenant.Env
	Only, Canary    string
	Parallel        int
	ContinueOnError bool
	// Waves is -waves=1,25%,100% (cumulative counts or shares; "" is one wave); Bake the wait
	// between waves.
	Waves string
	Bake  time.Duration
	// Rollout makes each tenant's deploy a gradual rollout (deploy:tenant -rollout=…).
	Rollout *deploy.Rollout
	// BuildEach has every tenant bundle its own upload, as a single deploy does, instead of
	// the one shared build per build key (Prebuild).
	BuildEach bool
	// JSON puts the summary document on Stdout and everything else on Stderr.
	JSON bool
	// Workspace holds the tenants.
	Workspace workspace.Workspace
	// Prepare returns what every tenant's deploy shares (API endpoint, HTTP client, token
	// lookup, validation, logger); Tenant, Env, Progress and Command are set per tenant. It
	// runs once, after the selection is checked, so a refused request has no side effect.
	Prepare        func(ctx context.Context) (deploy.Options, error)
	Stdout, Stderr io.Writer
}

// CheckRequest refuses a deploy:all request whose flags or selection are wrong, before anything
// runs (the magefile calls it ahead of the tree's checks, so a typo in -waves costs nothing);
// it returns the selection. DeployAll checks again.
func CheckRequest(o DeployAllOptions) (Selection, error) {
	if o.Parallel < 1 {
		return Selection{}, fmt.Errorf("deploy:all: -parallel=%d: must be 1 or more (1, the default, deploys one tenant after another)", o.Parallel)
	}
	names, invalid, err := tenant.Scan(o.Workspace)
	if err != nil {
		return Selection{}, fmt.Errorf("deploy:all: %w", err)
	}
	// A linked tenant folder is refused rather than left out: "all" must mean every tenant.
	for _, n := range invalid {
		if err := tenant.FolderProblem(o.Workspace, n); errors.Is(err, tenant.ErrSymlink) {
			return Selection{}, fmt.Errorf("deploy:all: %w", err)
		}
	}
	sel, err := Select(names, o.Env, o.Only, o.Canary)
	if err != nil {
		return Selection{}, fmt.Errorf("deploy:all: %w", err)
	}
	if o.Waves != "" {
		if _, err := ParseWaves(o.Waves, len(sel.Tenants)); err != nil {
			return Selection{}, fmt.Errorf("deploy:all: %w", err)
		}
	} else if o.Bake > 0 && o.Rollout == nil {
		return Selection{}, fmt.Errorf("deploy:all: -bake goes with -waves=… (between waves) or -rollout=… (each step)")
	}
	return sel, nil
}

// DeployAll deploys every selected tenant and prints the summary. The error is non-nil when
// the selection is refused (nothing ran) or any tenant failed; the Summary is filled either
// way once something ran.
func DeployAll(ctx context.Context, o DeployAllOptions) (Summary, error) {
	sel, err := CheckRequest(o)
	if err != nil {
		return Summary{}, err
	}
	base, err := o.Prepare(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("deploy:all %s: %w", sel.Env, err)
	}
	fmt.Fprintf(o.Stderr, "deploy:all %s: %d tenant(s) [%s], %s\n", sel.Env, len(sel.Tenants), strings.Join(sel.Tenants, ", "), describe(sel, o))

	base.Env = sel.Env
	base.Rollout = o.Rollout
	progress := report.NewProgress(o.Stderr, sel.Tenants)
	began := time.Now()
	ready, decided, abort, checked := gate(ctx, o.Workspace, sel, base, o.ContinueOnError, progress, o.Stderr)
	sum := Summary{Env: sel.Env, Canary: sel.Canary, Parallel: max(o.Parallel, 1), ContinueOnError: o.ContinueOnError}
	if !abort {
		opt := Options{Parallel: o.Parallel, ContinueOnError: o.ContinueOnError, Progress: progress}
		if o.Waves != "" && len(ready.Tenants) > 0 {
			// Counted over the tenants preflight let through, so 100% is all of them.
			if opt.Waves, err = ParseWaves(o.Waves, len(ready.Tenants)); err != nil {
				return Summary{}, fmt.Errorf("deploy:all: %w", err)
			}
			opt.Bake = o.Bake
		}
		shared := Shared{Preflight: checked}
		if !o.BuildEach && ctx.Err() == nil {
			if base.Runner.Bin == "" {
				base.Runner = wrangler.New(o.Workspace, base.Log)
			}
			pre := Prebuild(ctx, o.Workspace, base.Runner, ready.Tenants, sel.Env, o.Stderr)
			for _, l := range pre.Lines {
				fmt.Fprintf(o.Stderr, "deploy:all %s: %s\n", sel.Env, l)
			}
			shared.Bundles = pre.Bundles
		}
		sum = Run(ctx, ready, DeployTask(base, shared), opt)
	}
	sum = merge(sel, sum, decided)
	// The whole fleet's time: the preflight gate and the shared build count too.
	sum.Duration = time.Since(began)
	sum.RecordsDir = recordsDir(o.Workspace)
	for _, t := range sel.Tenants {
		if o, ok := decided[t]; ok && o.Status == Skipped && !abort {
			sum.Unready = append(sum.Unready, t)
		}
	}

	human := o.Stdout
	if o.JSON {
		human = o.Stderr
		if err := sum.WriteJSON(o.Stdout); err != nil {
			return sum, err
		}
	}
	fmt.Fprintln(human)
	if err := sum.WriteText(human, report.Colour(human)); err != nil {
		return sum, err
	}
	if err := report.AppendStepSummary(sum.Markdown()); err != nil {
		fmt.Fprintf(o.Stderr, "warning: %v\n", err)
	}
	return sum, sum.Err()
}

func describe(sel Selection, o DeployAllOptions) string {
	var parts []string
	if sel.Canary != "" {
		parts = append(parts, "canary "+sel.Canary+" first")
	}
	if o.Waves != "" {
		parts = append(parts, "in waves "+o.Waves)
		if o.Bake > 0 {
			parts = append(parts, fmt.Sprintf("baking %s between waves", o.Bake))
		}
	}
	if o.Rollout != nil {
		parts = append(parts, "each a gradual rollout")
	}
	if o.Parallel > 1 {
		parts = append(parts, fmt.Sprintf("%d at a time", o.Parallel))
	} else {
		parts = append(parts, "one at a time")
	}
	if o.ContinueOnError {
		parts = append(parts, "continuing after failures")
	} else {
		parts = append(parts, "stopping at the first failure")
	}
	return strings.Join(parts, ", ")
}

// recordsDir names the records folder for messages, relative to the checkout when inside it.
func recordsDir(ws workspace.Workspace) string {
	dir := ws.DeploymentsDir()
	if rel, err := filepath.Rel(ws.Root, dir); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel) + "/"
	}
	return dir
}
