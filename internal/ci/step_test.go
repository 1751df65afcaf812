package ci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// runSteps drives a Tracker as the ci target does: the steps in order, stopping at the first
// failure, the summary at the end.
func runSteps(ctx context.Context, out io.Writer, steps []Step) error {
	t := NewTracker(out, len(steps))
	for _, s := range steps {
		if err := t.Run(ctx, s); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, t.Summary("ci"))
	return nil
}

func TestRunStopsAtTheFailingStepAndNamesIt(t *testing.T) {
	t.Setenv("GITHUB_ACTIONS", "")
	var ran []string
	step := func(name string, err error) Step {
		return Step{Name: name, Run: func(ctx context.Context, out io.Writer) error {
			ran = append(ran, name)
			_, _ = io.WriteString(out, "working on "+name+"\n")
			return err
		}}
	}
	boom := errors.New("boom")
	var out strings.Builder
	err := runSteps(context.Background(), &out, []Step{step("lint", nil), step("test", boom), step("build", nil)})
	var se *StepError
	if !errors.As(err, &se) || se.Step != "test" || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want StepError for test wrapping boom", err)
	}
	if strings.Join(ran, ",") != "lint,test" {
		t.Errorf("ran %v, want lint then test only", ran)
	}
	for _, want := range []string{"==> [1/3] lint", "<== lint ok (", "==> [2/3] test", "<== test FAILED after "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "build") {
		t.Errorf("build was announced after a failure:\n%s", out.String())
	}
	if !strings.Contains(err.Error(), `step "test" failed`) {
		t.Errorf("error does not name the step: %v", err)
	}
}

func TestRunReportsEveryDuration(t *testing.T) {
	t.Setenv("GITHUB_ACTIONS", "true")
	var out strings.Builder
	slow := Step{Name: "slow", Run: func(ctx context.Context, out io.Writer) error { time.Sleep(20 * time.Millisecond); return nil }}
	if err := runSteps(context.Background(), &out, []Step{slow, {Name: "fast", Run: func(context.Context, io.Writer) error { return nil }}}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"::group::slow", "::endgroup::", "ci: all 2 steps passed in ", "slow ", "fast "} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	// The slow step's duration is at least its 20 ms sleep (a busy machine makes it longer).
	_, after, _ := strings.Cut(s, "(slow ")
	d, err := time.ParseDuration(strings.TrimRight(strings.SplitN(after, ",", 2)[0], ")\n"))
	if err != nil || d < 20*time.Millisecond {
		t.Errorf("summary gives slow %v (%v), want >= 20ms:\n%s", d, err, s)
	}
}

func TestRunHonoursCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := runSteps(ctx, io.Discard, []Step{{Name: "lint", Run: func(context.Context, io.Writer) error { called = true; return nil }}})
	if called || !errors.Is(err, context.Canceled) {
		t.Errorf("called=%v err=%v", called, err)
	}
}

func TestCommandRunNamesTheCommand(t *testing.T) {
	var out strings.Builder
	err := command{dir: t.TempDir(), name: "sh", args: []string{"-c", "echo hi; exit 3"}}.run(context.Background(), &out)
	if err == nil || !strings.Contains(err.Error(), "sh -c echo hi; exit 3") {
		t.Errorf("err = %v", err)
	}
	if !strings.Contains(out.String(), "    $ sh -c") || !strings.Contains(out.String(), "hi\n") {
		t.Errorf("out = %q", out.String())
	}
}

func TestCommandRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := command{dir: t.TempDir(), name: "sleep", args: []string{"30"}}.run(ctx, io.Discard)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	if time.Since(start) > 15*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
}

func TestRigIn(t *testing.T) {
	deps := "context\ngithub.com/rainbowsmoke/crispy-enigma/internal/sandboxworld\n" +
		"github.com/rainbowsmoke/crispy-enigma/internal/testrepo\ngithub.com/x/testworldly\n" +
		"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl\ngithub.com/x/sandbox\n" +
		"github.com/rainbowsmoke/crispy-enigma/internal/sandbox\n"
	got := strings.Join(rigIn(deps), " ")
	want := "github.com/rainbowsmoke/crispy-enigma/internal/sandboxworld github.com/rainbowsmoke/crispy-enigma/internal/testrepo github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	if got != want {
		t.Errorf("rigIn = %q, want %q", got, want)
	}
}

// Each name in rigPackages is a package of this module: a name left behind by a move or a
// deletion would let its successor into the mage binary unchecked.
func TestRigPackagesExist(t *testing.T) {
	ws, err := workspace.Cwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range rigPackages {
		files, err := filepath.Glob(filepath.Join(ws.Root, "internal", name, "*.go"))
		if err != nil || len(files) == 0 {
			t.Errorf("rigPackages names %q, but internal/%s has no Go file (%v): remove it from the list or fix the name", name, name, err)
		}
	}
}

func TestMageBinaryHasNoTestRig(t *testing.T) {
	ws, err := workspace.Cwd()
	if err != nil {
		t.Fatal(err)
	}
	bad, err := RigInMage(context.Background(), Options{Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("magefiles depend on the test rig: %v", bad)
	}
}

// A quiet tracker shows one line per passing step and the whole output of a failing one.
func TestQuietTrackerShowsOnlyAFailingStepsOutput(t *testing.T) {
	var out strings.Builder
	tr := NewTracker(&out, 0)
	tr.Quiet = true
	noisy := Step{Name: "noisy", Run: func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, "hundreds of passing test lines\n")
		return err
	}}
	failing := Step{Name: "failing", Run: func(_ context.Context, w io.Writer) error {
		_, _ = io.WriteString(w, "the line that says why\n")
		return errors.New("exit status 1")
	}}
	if err := tr.Run(context.Background(), noisy); err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), failing); err == nil {
		t.Fatal("the failing step passed")
	}
	got := out.String()
	if strings.Contains(got, "hundreds of passing test lines") || !strings.Contains(got, "<== noisy ok") {
		t.Errorf("a passing step's output was shown, or its line was not:\n%s", got)
	}
	if !strings.Contains(got, "the line that says why\n<== failing FAILED") {
		t.Errorf("the failing step's output is missing or after its FAILED line:\n%s", got)
	}
}
