package ci

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
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
	return fmt.Sprintf("ci: step %q failed after %s: %v", e.Step, round(e.Elapsed), e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Run runs steps in order and stops at the first failure. Each step is announced before it
// starts and again with its duration when it ends; a summary of the durations closes the run.
// In GitHub Actions every step is a collapsible log group.
func Run(ctx context.Context, out io.Writer, steps []Step) error {
	gha := os.Getenv("GITHUB_ACTIONS") == "true"
	start := time.Now()
	var done []string
	for i, s := range steps {
		if err := ctx.Err(); err != nil {
			return &StepError{Step: s.Name, Err: fmt.Errorf("interrupted before it started: %w", err)}
		}
		if gha {
			fmt.Fprintf(out, "::group::%s\n", s.Name)
		}
		fmt.Fprintf(out, "==> [%d/%d] %s\n", i+1, len(steps), s.Name)
		t := time.Now()
		err := s.Run(ctx, out)
		took := time.Since(t)
		if gha {
			fmt.Fprintln(out, "::endgroup::")
		}
		if err != nil {
			fmt.Fprintf(out, "<== %s FAILED after %s\n", s.Name, round(took))
			if gha {
				fmt.Fprintf(out, "::error title=mage ci::step %s failed\n", s.Name)
			}
			return &StepError{Step: s.Name, Elapsed: took, Err: err}
		}
		fmt.Fprintf(out, "<== %s ok (%s)\n", s.Name, round(took))
		done = append(done, fmt.Sprintf("%s %s", s.Name, round(took)))
	}
	fmt.Fprintf(out, "ci: all %d steps passed in %s (%s)\n", len(steps), round(time.Since(start)), strings.Join(done, ", "))
	return nil
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
