package ci

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Step is one named stage of the pipeline.
type Step struct {
	// Name is what the announcement and a failure call the step ("lint", "test").
	Name string
	// Run does the work; output goes to the writer it was given.
	Run func(ctx context.Context, out io.Writer) error
}

// StepError is the failure of one step: errors.As it to learn which step failed.
type StepError struct {
	Step    string
	Elapsed time.Duration
	Err     error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("step %q failed after %s: %v", e.Step, round(e.Elapsed), e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Tracker announces steps that run one after another, whoever runs them (Run below, or the
// chain of Mage dependencies of `mage ci`, one target per step), and remembers how they went
// for the closing summary.
type Tracker struct {
	out   io.Writer
	total int
	gha   bool
	// Quiet keeps a step's own output (compiler, linter and test lines) back unless the step
	// fails: a deploy gated on the checks shows one line per step, not hundreds.
	Quiet bool

	mu     sync.Mutex
	start  time.Time
	n      int
	done   []string
	failed *StepError
}

// NewTracker announces on out. total is how many steps are expected ("[2/5]"); 0 when a
// step runs on its own.
func NewTracker(out io.Writer, total int) *Tracker {
	return &Tracker{out: &lineWriter{w: out}, total: total, gha: os.Getenv("GITHUB_ACTIONS") == "true", start: time.Now()}
}

// lineWriter lets steps that run at once (the deploy gate runs its checks together) share one
// output: each write (an announcement, a held step's whole output) lands whole, and a writer
// that is not safe for concurrent use (a strings.Builder in a test) is not raced on.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Run runs one step: announced before it starts and again with its duration when it ends; in
// GitHub Actions inside a collapsible log group. Its failure is a *StepError.
func (t *Tracker) Run(ctx context.Context, s Step) error {
	t.mu.Lock()
	t.n++
	n := t.n
	t.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return t.fail(&StepError{Step: s.Name, Err: fmt.Errorf("interrupted before it started: %w", err)})
	}
	if t.gha {
		fmt.Fprintf(t.out, "::group::%s\n", s.Name)
	}
	if t.total > 0 {
		fmt.Fprintf(t.out, "==> [%d/%d] %s\n", n, t.total, s.Name)
	} else {
		fmt.Fprintf(t.out, "==> %s\n", s.Name)
	}
	start := time.Now()
	stepOut := t.out
	var held *heldOutput
	if t.Quiet {
		held = &heldOutput{}
		stepOut = held
	}
	err := s.Run(ctx, stepOut)
	took := time.Since(start)
	if held != nil && err != nil {
		held.writeTo(t.out)
	}
	if t.gha {
		fmt.Fprintln(t.out, "::endgroup::")
	}
	if err != nil {
		fmt.Fprintf(t.out, "<== %s FAILED after %s\n", s.Name, round(took))
		if t.gha {
			fmt.Fprintf(t.out, "::error title=mage %s::step %s failed\n", s.Name, s.Name)
		}
		return t.fail(&StepError{Step: s.Name, Elapsed: took, Err: err})
	}
	fmt.Fprintf(t.out, "<== %s ok (%s)\n", s.Name, round(took))
	t.mu.Lock()
	t.done = append(t.done, fmt.Sprintf("%s %s", s.Name, round(took)))
	t.mu.Unlock()
	return nil
}

func (t *Tracker) fail(e *StepError) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed == nil {
		t.failed = e
	}
	return e
}

// Failed is the first step that failed, or nil.
func (t *Tracker) Failed() *StepError {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

// Summary is the line that closes a run whose steps all passed.
func (t *Tracker) Summary(name string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("%s: all %d steps passed in %s (%s)", name, len(t.done), round(time.Since(t.start)), strings.Join(t.done, ", "))
}

// round keeps durations readable: 1.2s, 1m3s, 250ms.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}

// heldOutput keeps a quiet step's output until it is known whether it failed. A step's
// commands may write from several goroutines.
type heldOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (h *heldOutput) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.buf.Write(p)
}

func (h *heldOutput) writeTo(w io.Writer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, _ = h.buf.WriteTo(w)
}
