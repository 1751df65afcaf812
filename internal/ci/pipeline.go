package ci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/validate"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// DefaultFuzzTime is how long CI fuzzes each Fuzz target: long enough to catch a panic on
// odd input near the seeds, short enough for every push.
const DefaultFuzzTime = 10 * time.Second

// Options configure the pipeline. Zero values are the CI defaults.
type Options struct {
	Workspace workspace.Workspace
	Log       *slog.Logger
	// FuzzTime per Fuzz target; 0 is DefaultFuzzTime, negative skips fuzzing.
	FuzzTime time.Duration
}

func (o Options) logger() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

// toolsModfile runs staticcheck and actionlint from tools/go.mod, outside the main module's
// dependency graph.
const toolsModfile = "-modfile=tools/go.mod"

func gocmd(o Options, args ...string) command {
	return command{dir: o.Workspace.Root, name: goBin(), args: args}
}

// darwin is c for macOS: operators deploy from Mac laptops, so the module and the magefile
// must build and vet there too (the Linux-only facilities each have a fallback, see
// docs/deployment/ci.md "Laptops").
func darwin(c command) command {
	c.env = []string{"GOOS=darwin", "GOARCH=arm64", "CGO_ENABLED=0"}
	return c
}

// Lint is formatting, no test rig package in the mage binary, go.mod and go.sum as
// `go mod tidy` would leave them, vet (with the mage
// tag so magefiles/ are checked too) for linux and for darwin, a darwin build, staticcheck,
// and actionlint over .github/workflows.
func Lint(o Options) Step {
	return Step{Name: "lint", Run: func(ctx context.Context, out io.Writer) error {
		bad, err := Unformatted(ctx, o.Workspace.Root)
		if err != nil {
			return fmt.Errorf("gofmt: %w", err)
		}
		if len(bad) > 0 {
			return fmt.Errorf("gofmt: not formatted, run `gofmt -w` on: %s", strings.Join(bad, " "))
		}
		fmt.Fprintln(out, "    gofmt: every .go file is formatted")
		if err := checkNoRigInMage(ctx, o, out); err != nil {
			return err
		}
		return runAll(ctx, out,
			gocmd(o, "mod", "tidy", "-diff"),
			gocmd(o, "vet", "-tags", "mage", "./..."),
			darwin(gocmd(o, "vet", "-tags", "mage", "./...")),
			darwin(gocmd(o, "build", "./...")),
			gocmd(o, "tool", toolsModfile, "staticcheck", "-tags", "mage", "./..."),
			gocmd(o, "tool", toolsModfile, "actionlint"),
		)
	}}
}

// Typecheck is the Go module and the Worker's TypeScript.
func Typecheck(o Options) Step {
	return Step{Name: "typecheck", Run: func(ctx context.Context, out io.Writer) error {
		return runAll(ctx, out, gocmd(o, "build", "./..."), workerTSC(o))
	}}
}

// WorkerTypecheck is tsc --noEmit over the Worker alone: the one check an emergency deploy
// keeps, because wrangler's bundler strips types without checking them.
func WorkerTypecheck(o Options) Step {
	return Step{Name: StepWorkerTypecheck, Run: workerTSC(o).run}
}

func workerTSC(o Options) command {
	return command{dir: o.Workspace.Root, name: o.Workspace.NodeBin("tsc"), args: []string{"-p", "apps/worker-api", "--noEmit"}}
}

// Test is the Go tests with the race detector, a short fuzz of every Fuzz target, and the
// Worker's unit tests.
func Test(o Options) Step {
	return Step{Name: "test", Run: func(ctx context.Context, out io.Writer) error {
		if err := runAll(ctx, out, gocmd(o, "test", "-race", "-timeout", "20m", "./...")); err != nil {
			return err
		}
		if err := fuzz(ctx, out, o.Workspace.Root, o.FuzzTime); err != nil {
			return err
		}
		return workerTests(ctx, out, o.Workspace)
	}}
}

// Validate is the same check as `mage validate all`.
func Validate(o Options) Step {
	return Step{Name: "validate", Run: func(ctx context.Context, out io.Writer) error {
		v, err := validate.New(o.Workspace, o.logger(), validate.Options{})
		if err != nil {
			return err
		}
		report, err := v.Run(ctx, "all")
		if err != nil {
			return err
		}
		if err := report.WriteText(out); err != nil {
			return err
		}
		if report.OK() {
			fmt.Fprintln(out, "    every tenant is valid")
		}
		return report.Err()
	}}
}

// Build is a dry-run bundle of every tenant and environment, no token, no network.
func Build(o Options) Step {
	return Step{Name: "build", Run: func(ctx context.Context, out io.Writer) error {
		_, err := BuildTenants(ctx, o.Workspace, wrangler.New(o.Workspace, o.logger()), "all", out)
		return err
	}}
}

func runAll(ctx context.Context, out io.Writer, cmds ...command) error {
	for _, c := range cmds {
		if err := c.run(ctx, out); err != nil {
			return err
		}
	}
	return nil
}

// fuzz runs every Fuzz target of the module for d each.
func fuzz(ctx context.Context, out io.Writer, root string, d time.Duration) error {
	if d < 0 {
		fmt.Fprintln(out, "    fuzzing skipped")
		return nil
	}
	if d == 0 {
		d = DefaultFuzzTime
	}
	targets, err := listFuzzTargets(ctx, root)
	if err != nil {
		return fmt.Errorf("listing fuzz targets: %w", err)
	}
	if len(targets) == 0 {
		fmt.Fprintln(out, "    no Fuzz targets found")
	}
	for _, t := range targets {
		c := command{dir: root, name: goBin(), args: []string{"test", "-run", "^$", "-fuzz", "^" + t.Name + "$", "-fuzztime", d.String(), t.Package}}
		if err := c.run(ctx, out); err != nil {
			return fmt.Errorf("fuzz %s.%s (a failing input was saved under the package's testdata/fuzz/): %w", t.Package, t.Name, err)
		}
	}
	return nil
}

// workerTests runs the Worker's unit tests. When apps/worker-api/package.json defines
// scripts.test, that is the command (npm puts the root node_modules/.bin on its PATH);
// otherwise the tests are built with tsconfig.test.json and run with node's own test runner,
// file by file so every Node version from 20 on agrees on what runs.
func workerTests(ctx context.Context, out io.Writer, ws workspace.Workspace) error {
	dir := ws.WorkerDir()
	if script, err := packageTestScript(filepath.Join(dir, "package.json")); err != nil {
		return err
	} else if script != "" {
		return command{dir: dir, name: "npm", args: []string{"test", "--silent"}}.run(ctx, out)
	}
	files, err := filepath.Glob(filepath.Join(dir, "test", "*.test.js"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("worker tests: no %s and no scripts.test in %s; the Worker must have unit tests",
			filepath.Join("apps", "worker-api", "test", "*.test.js"), filepath.Join("apps", "worker-api", "package.json"))
	}
	slices.Sort(files)
	for i, f := range files {
		files[i], _ = filepath.Rel(dir, f)
	}
	return runAll(ctx, out,
		command{dir: ws.Root, name: ws.NodeBin("tsc"), args: []string{"-p", filepath.Join("apps", "worker-api", "tsconfig.test.json")}},
		command{dir: dir, name: "node", args: append([]string{"--test"}, files...)},
	)
}

// packageTestScript returns scripts.test of a package.json, "" when the file or the script
// is absent.
func packageTestScript(path string) (string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("worker tests: %w", err)
	}
	var pkg struct {
		Scripts map[string]string `json:"scripts"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		return "", fmt.Errorf("worker tests: %s is not valid JSON: %w", path, err)
	}
	return pkg.Scripts["test"], nil
}

// ParseFuzzTime reads the -fuzzTime flag of `mage ci`: "" is the default, a negative
// duration (or 0) skips fuzzing.
func ParseFuzzTime(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("ci: -fuzzTime=%q: %w (use a Go duration such as 10s, or 0 to skip fuzzing)", s, err)
	}
	if d == 0 {
		return -1, nil
	}
	return d, nil
}
