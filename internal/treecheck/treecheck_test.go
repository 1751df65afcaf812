package treecheck_test

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/ci"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/treecheck"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

func gitRepo(t *testing.T) workspace.Workspace {
	t.Helper()
	root := t.TempDir()
	write(t, root, ".gitignore", ".state/\n")
	write(t, root, "a.txt", "one\n")
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return workspace.Workspace{Root: root}
}

func write(t *testing.T, root, rel, body string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestHashCountsContentNotRecords: an edit or a new file changes the hash, a deploy record or
// ignored output does not, and undoing the edit gives the first hash back.
func TestHashCountsContentNotRecords(t *testing.T) {
	for name, ws := range map[string]workspace.Workspace{"git": gitRepo(t), "no git": {Root: t.TempDir()}} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			write(t, ws.Root, "a.txt", "one\n")
			h := func() string {
				t.Helper()
				s, err := treecheck.Hash(ctx, ws)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			clean := h()
			write(t, ws.Root, "deployments/acme-staging-1.json", "{}")
			write(t, ws.Root, ".state/x", "y")
			if got := h(); got != clean {
				t.Errorf("a deploy record or .state changed the hash")
			}
			write(t, ws.Root, "a.txt", "two\n")
			edited := h()
			if edited == clean {
				t.Errorf("an edit did not change the hash")
			}
			write(t, ws.Root, "b.txt", "new\n")
			if h() == edited {
				t.Errorf("a new file did not change the hash")
			}
			os.Remove(filepath.Join(ws.Root, "b.txt"))
			write(t, ws.Root, "a.txt", "one\n")
			if h() != clean {
				t.Errorf("undoing the edit did not give the first hash back")
			}
		})
	}
}

// TestGateRunsOncePerTree: the first gate runs the steps, the second (same tree) does not and
// says so, an edit runs them again, an emergency runs only Always, and a failure is named and
// not remembered.
func TestGateRunsOncePerTree(t *testing.T) {
	ws := gitRepo(t)
	ctx := context.Background()
	var ran []string
	var mu sync.Mutex // the gate runs its steps at once
	step := func(name string, fail *bool) ci.Step {
		return ci.Step{Name: name, Run: func(context.Context, io.Writer) error {
			mu.Lock()
			ran = append(ran, name)
			slices.Sort(ran)
			mu.Unlock()
			if fail != nil && *fail {
				return errors.New("boom")
			}
			return nil
		}}
	}
	failUnit := false
	o := treecheck.Options{Workspace: ws, Steps: []ci.Step{step("lint", nil), step("unit", &failUnit)}, Always: []ci.Step{step("worker-typecheck", nil)}}
	gate := func(o treecheck.Options) (string, string, error) {
		t.Helper()
		ran = nil
		var out strings.Builder
		o.Out = &out
		res, err := treecheck.Gate(ctx, o)
		return res.Status, out.String(), err
	}
	if st, _, err := gate(o); err != nil || st != treecheck.StatusPassed || strings.Join(ran, ",") != "lint,unit" {
		t.Fatalf("first gate: status %q, ran %v, err %v", st, ran, err)
	}
	st, out, err := gate(o)
	if err != nil || st != treecheck.StatusAlreadyPassed || len(ran) != 0 || !strings.Contains(out, "already passed") {
		t.Fatalf("second gate: status %q, ran %v, err %v, out %q", st, ran, err, out)
	}
	write(t, ws.Root, "a.txt", "edited\n")
	failUnit = true
	_, _, err = gate(o)
	if err == nil || !strings.Contains(err.Error(), `step "unit" failed`) {
		t.Fatalf("a failing step: err %v", err)
	}
	if _, _, err := gate(o); err == nil {
		t.Fatalf("a failed tree was remembered as passed")
	}
	o.Emergency = true
	st, out, err = gate(o)
	if err != nil || st != treecheck.StatusEmergency || strings.Join(ran, ",") != "worker-typecheck" || !strings.Contains(out, "-emergency=true") {
		t.Fatalf("emergency: status %q, ran %v, err %v, out %q", st, ran, err, out)
	}
}

// TestWorkerThatFailsTypecheckIsRefused runs the real tsc over a copy of the Worker with a type
// error: the gate refuses, also in an emergency, naming the step.
func TestWorkerThatFailsTypecheckIsRefused(t *testing.T) {
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo) // node and the pinned TypeScript
	ws := testrepo.Copy(t, repo, testrepo.Options{})
	f := filepath.Join(ws.WorkerDir(), "src", "routes", "health.ts")
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, append(b, []byte("\nexport const broken: number = \"not a number\";\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	o := ci.Options{Workspace: ws}
	var out strings.Builder
	_, err = treecheck.Gate(context.Background(), treecheck.Options{Workspace: ws, Always: []ci.Step{ci.WorkerTypecheck(o)}, Emergency: true, Out: &out})
	if err == nil || !strings.Contains(err.Error(), `step "worker-typecheck" failed`) {
		t.Fatalf("err = %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "health.ts") {
		t.Errorf("tsc's complaint is not in the output:\n%s", out.String())
	}
}

// TestPassVouchesForWhatItChecked: a deploy gate's pass of tenant a's checks does not stand in
// for tenant b's on the same tree; once both passed, either deploy finds its pass; a pass of
// `mage ci` stands in for every gate.
func TestPassVouchesForWhatItChecked(t *testing.T) {
	ws := gitRepo(t)
	ctx := context.Background()
	runs := 0
	gate := func(covers ...string) string {
		t.Helper()
		res, err := treecheck.Gate(ctx, treecheck.Options{Workspace: ws, Covers: covers,
			Steps: []ci.Step{{Name: "validate", Run: func(context.Context, io.Writer) error { runs++; return nil }}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Status
	}
	a := ci.Scope{Tenants: []string{"a"}, Env: "staging"}.Covers()
	b := ci.Scope{Tenants: []string{"b"}, Env: "staging"}.Covers()
	if gate(a...) != treecheck.StatusPassed || gate(b...) != treecheck.StatusPassed || runs != 2 {
		t.Fatalf("a's pass stood in for b's (%d runs)", runs)
	}
	if gate(a...) != treecheck.StatusAlreadyPassed || gate(b...) != treecheck.StatusAlreadyPassed || runs != 2 {
		t.Fatalf("a pass was forgotten when another was remembered (%d runs)", runs)
	}
	write(t, ws.Root, "a.txt", "edited\n")
	if err := treecheck.MarkPassed(ctx, ws); err != nil {
		t.Fatal(err)
	}
	all := ci.Scope{Tenants: []string{"a", "b", "c"}, Env: "production"}.Covers()
	if gate(all...) != treecheck.StatusAlreadyPassed || runs != 2 {
		t.Fatalf("a pass of mage ci did not stand in for a deploy gate (%d runs)", runs)
	}
}

// TestScopeOfTarget: one tenant, every tenant, or deploy:all's -only list; dev and unknown
// tenants refused.
func TestScopeOfTarget(t *testing.T) {
	ws := workspace.Workspace{Root: t.TempDir()}
	for _, n := range []string{"acme", "globex"} {
		write(t, ws.Root, "tenants/"+n+"/tenant.config.json", "{}")
	}
	for target, want := range map[string]string{"acme": "acme", "all": "acme,globex", "globex, acme": "acme,globex"} {
		s, err := treecheck.ScopeOf(ws, target, "staging")
		if err != nil || strings.Join(s.Tenants, ",") != want || s.Env != "staging" {
			t.Errorf("ScopeOf(%q) = %+v, %v; want %s", target, s, err, want)
		}
	}
	for _, bad := range [][2]string{{"acme", "dev"}, {"nobody", "staging"}} {
		if _, err := treecheck.ScopeOf(ws, bad[0], bad[1]); err == nil {
			t.Errorf("ScopeOf(%q, %q) accepted", bad[0], bad[1])
		}
	}
}
