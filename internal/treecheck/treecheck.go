package treecheck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/atomicfile"
	"github.com/rainbowsmoke/crispy-enigma/internal/ci"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// The statuses of history.Checks.
const (
	StatusPassed        = "passed"
	StatusAlreadyPassed = "already_passed"
	StatusEmergency     = "skipped_emergency"
)

// skipped are what a tree hash leaves out: deploy records are written by deploys (a record
// must not make the next deploy re-check), the rest is tooling output and git's own.
var skipped = []string{".git", "node_modules", ".state", ".build", ".wrangler", "deployments"}

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
	if _, err := gitOut(ctx, ws.Root, env, "add", "-A", "--", ".", ":(exclude)deployments"); err != nil {
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
		if d.IsDir() && slices.Contains(skipped, rel) {
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
	// Steps are the checks (ci.FastSteps).
	Steps []ci.Step
	// Always are run even in an emergency (ci.WorkerTypecheck): wrangler's bundler strips
	// TypeScript types without checking them.
	Always []ci.Step
	// Emergency skips Steps; the record says so.
	Emergency bool
	// Out receives the step lines (stderr: stdout may carry a JSON document).
	Out io.Writer
}

// passed is what .state/checks/<hash>.json remembers.
type passed struct {
	Tree       string    `json:"tree"`
	PassedAt   time.Time `json:"passed_at"`
	DurationMS int64     `json:"duration_ms"`
	Steps      []string  `json:"steps"`
}

// Gate runs the checks of the tree in o.Workspace unless this exact tree passed them before,
// and remembers a pass. Its error names the failing step; the deploy must not go on.
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
	if o.Emergency {
		fmt.Fprintf(o.Out, "checks: -emergency=true: skipping %s for tree %s (the record says so); the Worker's typecheck still runs\n", names(o.Steps), short)
		for _, s := range o.Always {
			if err := t.Run(ctx, s); err != nil {
				return res, fmt.Errorf("checks of tree %s: %w", short, err)
			}
		}
		res.Status, res.DurationMS = StatusEmergency, time.Since(start).Milliseconds()
		return res, nil
	}
	if p, ok := recall(o.Workspace, tree); ok {
		fmt.Fprintf(o.Out, "checks: tree %s already passed %s at %s; not running them again\n", short, names(o.Steps), p.PassedAt.Local().Format(time.DateTime))
		res.Status, res.PassedAt, res.DurationMS = StatusAlreadyPassed, p.PassedAt, p.DurationMS
		return res, nil
	}
	fmt.Fprintf(o.Out, "checks: tree %s has not passed the checks yet: running %s\n", short, names(o.Steps))
	for _, s := range o.Steps {
		if err := t.Run(ctx, s); err != nil {
			return res, fmt.Errorf("checks of tree %s: %w", short, err)
		}
	}
	res.Status, res.PassedAt, res.DurationMS = StatusPassed, time.Now().UTC(), time.Since(start).Milliseconds()
	if err := Remember(o.Workspace, res, o.Steps); err != nil {
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

func memoryPath(ws workspace.Workspace, tree string) string {
	safe := strings.NewReplacer(":", "-", "/", "-").Replace(tree)
	return filepath.Join(ws.StateDir(), "checks", safe+".json")
}

func recall(ws workspace.Workspace, tree string) (passed, bool) {
	b, err := os.ReadFile(memoryPath(ws, tree))
	if err != nil {
		return passed{}, false
	}
	var p passed
	if json.Unmarshal(b, &p) != nil || p.Tree != tree {
		return passed{}, false
	}
	return p, true
}

// Remember records that the tree of res passed steps (atomically: a crash leaves no half file).
func Remember(ws workspace.Workspace, res history.Checks, steps []ci.Step) error {
	p := passed{Tree: res.Tree, PassedAt: res.PassedAt, DurationMS: res.DurationMS}
	for _, s := range steps {
		p.Steps = append(p.Steps, s.Name)
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	path := memoryPath(ws, res.Tree)
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

// MarkPassed remembers the tree in ws as having passed the fast checks now: `mage ci`, which
// runs a superset of them, calls it when it passes, and so do tests that deploy through the
// compiled magefile and are not about the checks.
func MarkPassed(ctx context.Context, ws workspace.Workspace, steps []ci.Step) error {
	tree, err := Hash(ctx, ws)
	if err != nil {
		return err
	}
	return Remember(ws, history.Checks{Tree: tree, Status: StatusPassed, PassedAt: time.Now().UTC()}, steps)
}
