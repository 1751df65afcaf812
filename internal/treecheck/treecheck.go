package treecheck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/atomicfile"
	"github.com/rainbowsmoke/crispy-enigma/internal/ci"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// The statuses of history.Checks.
const (
	StatusPassed        = "passed"
	StatusAlreadyPassed = "already_passed"
	StatusEmergency     = "skipped_emergency"
	// StatusFailed: a check failed and the deploy was refused (history.Checks.Failed names it).
	StatusFailed = history.ChecksFailed
)

// skipped are what a tree hash leaves out: deploy records are written by deploys (a record
// must not make the next deploy re-check), the rest is tooling output and git's own.
var skipped = []string{".git", "node_modules", ".state", ".build", ".wrangler", "deployments"}

// testBuild is where the Worker's tests are compiled to (apps/worker-api/tsconfig.test.json).
const testBuild = "apps/worker-api/.test-build"

// Hash is the hash of the tree in ws as it is on disk: in a git checkout, `git write-tree` of
// every file git does not ignore (tracked or not) outside deployments/, staged into a
// throwaway index so the real index is untouched; elsewhere a sha256 over the paths and
// contents of the files outside the skipped folders.
func Hash(ctx context.Context, ws workspace.Workspace) (string, error) {
	if top, err := gitOut(ctx, ws.Root, nil, "rev-parse", "--show-toplevel"); err == nil && sameDir(top, ws.Root) {
		return gitTree(ctx, ws)
	}
	return walkHash(ws.Root)
}

func gitTree(ctx context.Context, ws workspace.Workspace) (string, error) {
	dir := filepath.Join(ws.StateDir(), "checks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("tree hash: %w", err)
	}
	index := filepath.Join(dir, fmt.Sprintf("index-%d", os.Getpid()))
	defer os.Remove(index)
	env := []string{"GIT_INDEX_FILE=" + index}
	// The tool's own output is left out even where .gitignore forgets it (the checks write
	// some of it, the Worker tests' build, and must not change the tree they vouch for). The
	// same file replaces the machine's global excludes, which would otherwise make one tree
	// hash differently on a laptop and on CI.
	excludes := filepath.Join(dir, "excludes")
	var pats strings.Builder
	for _, p := range append(slices.Clone(skipped[1:]), testBuild) {
		fmt.Fprintf(&pats, "/%s/\n", p)
	}
	if err := os.WriteFile(excludes, []byte(pats.String()), 0o644); err != nil {
		return "", fmt.Errorf("tree hash: %w", err)
	}
	if _, err := gitOut(ctx, ws.Root, env, "-c", "core.excludesFile="+excludes, "add", "-A", "--", "."); err != nil {
		return "", fmt.Errorf("tree hash: %w", err)
	}
	tree, err := gitOut(ctx, ws.Root, env, "write-tree")
	if err != nil {
		return "", fmt.Errorf("tree hash: %w", err)
	}
	return tree, nil
}

func gitOut(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

func sameDir(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}

func walkHash(root string) (string, error) {
	h := sha256.New()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() && (slices.Contains(skipped, rel) || filepath.ToSlash(rel) == testBuild) {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".env") {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("tree hash: %w", err)
	}
	slices.Sort(files)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return "", fmt.Errorf("tree hash: %w", err)
		}
		sum := sha256.Sum256(b)
		fmt.Fprintf(h, "%s\x00%x\n", filepath.ToSlash(f), sum)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Options are one run of the gate.
type Options struct {
	Workspace workspace.Workspace
	// Steps are the checks (ci.DeploySteps).
	Steps []ci.Step
	// Covers is what a pass of Steps vouches for (ci.Scope.Covers): a remembered pass of the
	// same tree counts when it covers all of it, and a pass of `mage ci` covers everything.
	Covers []string
	// Always are run even in an emergency (ci.WorkerTypecheck): wrangler's bundler strips
	// TypeScript types without checking them.
	Always []ci.Step
	// Emergency skips Steps; the record says so.
	Emergency bool
	// Remote is the git remote whose refs/notes/checks holds the passes of `mage ci` that
	// every machine shares (Shared); "" is origin when the checkout has it, NoRemote none.
	Remote string
	// Out receives the step lines (stderr: stdout may carry a JSON document).
	Out io.Writer
}

// Gate runs the checks of the tree in o.Workspace unless this exact tree passed them before
// (here, or `mage ci` anywhere that shares the remote), and remembers a pass. Its error names
// the failing step, and the result says it (Status failed, Failed the step): the deploy must
// not go on, and its record says why.
func Gate(ctx context.Context, o Options) (history.Checks, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	tree, err := Hash(ctx, o.Workspace)
	if err != nil {
		return history.Checks{}, err
	}
	res := history.Checks{Tree: tree}
	short := tree
	if len(short) > 19 {
		short = short[:19]
	}
	t := ci.NewTracker(o.Out, 0)
	// One line per check; a failing check's own output is shown in full.
	t.Quiet = true
	start := time.Now()
	fail := func(err error) (history.Checks, error) {
		res.Status, res.DurationMS = StatusFailed, time.Since(start).Milliseconds()
		var se *ci.StepError
		if errors.As(err, &se) {
			res.Failed = se.Step
		}
		return res, fmt.Errorf("checks of tree %s: %w", short, err)
	}
	if o.Emergency {
		res.Emergency = true
		fmt.Fprintf(o.Out, "checks: -emergency=true: skipping %s for tree %s (the record says so); the Worker's typecheck still runs\n", names(o.Steps), short)
		for _, s := range o.Always {
			if err := t.Run(ctx, s); err != nil {
				return fail(err)
			}
		}
		res.Status, res.DurationMS = StatusEmergency, time.Since(start).Milliseconds()
		return res, nil
	}
	p, ok := recall(o.Workspace, tree)
	if !ok || !p.vouches(o.Covers) {
		if sp, found := shared(ctx, o, tree); found && sp.vouches(o.Covers) {
			p, ok = sp, true
			_ = remember(o.Workspace, sp) // the next deploy of this tree need not ask the remote
		} else {
			ok = false
		}
	}
	if ok {
		fmt.Fprintf(o.Out, "checks: tree %s already passed %s at %s (%s); not running them again\n", short, p.what(), p.PassedAt.Local().Format(time.DateTime), p.where())
		res.Status, res.PassedAt, res.DurationMS, res.Source = StatusAlreadyPassed, p.PassedAt, p.DurationMS, p.where()
		return res, nil
	}
	fmt.Fprintf(o.Out, "checks: tree %s has not passed the deploy checks yet: running %s\n", short, names(o.Steps))
	// The checks are independent (each reads the tree, none writes what another reads), so
	// they run at once: the gate takes as long as its slowest check, not their sum. A failure
	// is the first failing check in their order, whatever finished first.
	errs := make([]error, len(o.Steps))
	var wg sync.WaitGroup
	for i, s := range o.Steps {
		wg.Go(func() { errs[i] = t.Run(ctx, s) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fail(err)
		}
	}
	res.Status, res.PassedAt, res.DurationMS = StatusPassed, time.Now().UTC(), time.Since(start).Milliseconds()
	if err := remember(o.Workspace, newPass(tree, SuiteDeploy, o.Covers, res.PassedAt, res.DurationMS)); err != nil {
		// The checks passed; only the memory of it is lost, so the next deploy runs them again.
		fmt.Fprintf(o.Out, "checks: passed, but could not remember it: %v\n", err)
	}
	return res, nil
}

func names(steps []ci.Step) string {
	var n []string
	for _, s := range steps {
		n = append(n, s.Name)
	}
	return strings.Join(n, ", ")
}

// The suites a Pass comes from.
const (
	// SuiteCI is `go tool mage ci`: lint, typecheck, test, validate all, build all, a superset
	// of every deploy gate.
	SuiteCI = "ci"
	// SuiteDeploy is a deploy gate's steps, for the facts in Covers.
	SuiteDeploy = "deploy-gate"
)

// Pass is one tree's pass of a suite of checks, as .state/checks/<tree>.json and a git note
// on refs/notes/checks keep it.
type Pass struct {
	Tree       string    `json:"tree"`
	Suite      string    `json:"suite"`
	Covers     []string  `json:"covers,omitempty"`
	PassedAt   time.Time `json:"passed_at"`
	DurationMS int64     `json:"duration_ms"`
	// Host is the machine that ran the checks; RunURL the CI run's page, when it was CI.
	Host   string `json:"host,omitempty"`
	RunURL string `json:"run_url,omitempty"`
}

func newPass(tree, suite string, covers []string, at time.Time, d int64) Pass {
	host, _ := os.Hostname()
	return Pass{Tree: tree, Suite: suite, Covers: covers, PassedAt: at, DurationMS: d, Host: host, RunURL: runURL()}
}

// runURL is the GitHub Actions run's page, "" elsewhere.
func runURL() string {
	srv, repo, id := os.Getenv("GITHUB_SERVER_URL"), os.Getenv("GITHUB_REPOSITORY"), os.Getenv("GITHUB_RUN_ID")
	if srv == "" || repo == "" || id == "" {
		return ""
	}
	return srv + "/" + repo + "/actions/runs/" + id
}

func (p Pass) vouches(want []string) bool {
	return p.Suite == SuiteCI || ci.CoversAll(p.Covers, want)
}

func (p Pass) what() string {
	if p.Suite == SuiteCI {
		return "`go tool mage ci`"
	}
	return "the deploy checks"
}

func (p Pass) where() string {
	switch {
	case p.RunURL != "":
		return "CI run " + p.RunURL
	case p.Host != "":
		return "on " + p.Host
	}
	return "here"
}

func memoryPath(ws workspace.Workspace, tree string) string {
	safe := strings.NewReplacer(":", "-", "/", "-").Replace(tree)
	return filepath.Join(ws.StateDir(), "checks", safe+".json")
}

func recall(ws workspace.Workspace, tree string) (Pass, bool) {
	b, err := os.ReadFile(memoryPath(ws, tree))
	if err != nil {
		return Pass{}, false
	}
	var p Pass
	if json.Unmarshal(b, &p) != nil || p.Tree != tree {
		return Pass{}, false
	}
	return p, true
}

// remember keeps p in .state/checks (atomically: a crash leaves no half file). A deploy
// gate's pass adds its facts to those already remembered for the tree; a pass of `mage ci`
// stays one.
func remember(ws workspace.Workspace, p Pass) error {
	if old, ok := recall(ws, p.Tree); ok {
		if old.Suite == SuiteCI && p.Suite != SuiteCI {
			return nil
		}
		if p.Suite != SuiteCI {
			for _, c := range old.Covers {
				if !slices.Contains(p.Covers, c) {
					p.Covers = append(p.Covers, c)
				}
			}
		}
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	path := memoryPath(ws, p.Tree)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(path, append(b, '\n'), atomicfile.Options{}); err != nil {
		return err
	}
	prune(filepath.Dir(path), keep)
	return nil
}

// keep is how many trees' passes are remembered: enough for every branch an operator
// switches between, few enough that .state/checks stays small.
const keep = 100

// prune removes all but the newest keep memories.
func prune(dir string, keep int) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type memo struct {
		name string
		mod  time.Time
	}
	var ms []memo
	for _, de := range des {
		if info, err := de.Info(); err == nil && strings.HasSuffix(de.Name(), ".json") {
			ms = append(ms, memo{de.Name(), info.ModTime()})
		}
	}
	slices.SortFunc(ms, func(a, b memo) int { return b.mod.Compare(a.mod) })
	for _, m := range ms[min(keep, len(ms)):] {
		_ = os.Remove(filepath.Join(dir, m.name))
	}
}

// MarkPassed remembers, on this machine only, the tree in ws as having passed `mage ci` now:
// for tests that deploy through the compiled magefile and are not about the checks.
func MarkPassed(ctx context.Context, ws workspace.Workspace) error {
	tree, err := Hash(ctx, ws)
	if err != nil {
		return err
	}
	return remember(ws, newPass(tree, SuiteCI, nil, time.Now().UTC(), 0))
}

// RecordCI remembers that the tree in ws passed `go tool mage ci` (which took d): in
// .state/checks, and, when the checkout has the remote (Options.Remote), as a git note on the
// remote's refs/notes/checks, so that a deploy of the same tree from any machine that shares
// the remote does not run the checks again. The error is only for the shared part: the local
// memory is written first.
func RecordCI(ctx context.Context, ws workspace.Workspace, remote string, d time.Duration) error {
	tree, err := Hash(ctx, ws)
	if err != nil {
		return err
	}
	p := newPass(tree, SuiteCI, nil, time.Now().UTC(), d.Milliseconds())
	if err := remember(ws, p); err != nil {
		return err
	}
	return share(ctx, ws, remote, p)
}

// ScopeOf is what a deploy of target (one tenant, "all", or names separated by commas as
// deploy:all -only takes them) to env ships, for the gate.
func ScopeOf(ws workspace.Workspace, target, env string) (ci.Scope, error) {
	e, err := tenant.ParseCloudEnv(env, "")
	if err != nil {
		return ci.Scope{}, fmt.Errorf("checks: %w", err)
	}
	var names []string
	for _, t := range strings.Split(target, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		ns, err := tenant.Select(ws, t)
		if err != nil {
			return ci.Scope{}, fmt.Errorf("checks: %w", err)
		}
		names = append(names, ns...)
	}
	slices.Sort(names)
	return ci.Scope{Tenants: slices.Compact(names), Env: e}, nil
}
