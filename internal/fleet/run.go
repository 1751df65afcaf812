package fleet

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/report"
)

// Status is how one tenant's run ended. The deploy statuses pass through unchanged; the
// fleet adds Skipped for tenants it never started.
type Status string

const (
	Succeeded   Status = "succeeded"
	Unchanged   Status = "unchanged"
	Failed      Status = "failed"
	RolledBack  Status = "rolled_back"
	Interrupted Status = "interrupted"
	Skipped     Status = "skipped"
)

// OK reports whether the tenant ended well: deployed, or already up to date.
func (s Status) OK() bool { return s == Succeeded || s == Unchanged }

// Failure reports whether the status counts against the fleet (exit 1): anything that
// started and did not end OK.
func (s Status) Failure() bool { return !s.OK() && s != Skipped }

// Tone is the colour the status is shown in.
func (s Status) Tone() report.Tone {
	switch {
	case s == Succeeded:
		return report.Good
	case s == Unchanged || s == Skipped:
		return report.Calm
	default:
		return report.Bad
	}
}

// Outcome is what one tenant's run produced.
type Outcome struct {
	Tenant   string        `json:"tenant"`
	Status   Status        `json:"status"`
	Version  string        `json:"version_id,omitempty"`
	URL      string        `json:"url,omitempty"`
	Duration time.Duration `json:"-"`
	// DurationMS mirrors Duration for JSON readers.
	DurationMS int64 `json:"duration_ms"`
	// Error is the error message of a failed tenant, or why a tenant was skipped.
	Error string `json:"error,omitempty"`
	// Wave is the wave the tenant was in (1, 2, …) under -waves; 0 without.
	Wave int `json:"wave,omitempty"`
	// LogPath is the tenant's own wrangler log; shown at the end for failed tenants.
	LogPath string `json:"log_path,omitempty"`
	// RecordPath is the deployment record written for this attempt, if any.
	RecordPath string `json:"record_path,omitempty"`
	// MissingSecrets are the required secrets a first deploy went live without; the summary
	// names the command that sets them.
	MissingSecrets []string `json:"missing_secrets,omitempty"`
}

// Note reports a state change of a running tenant (a pipeline step starting, say). Tasks
// call it; the fleet prints one progress line per call.
type Note func(state, detail string)

// Task runs the operation for one tenant. It must return (never panic for ordinary
// failures) and put every failure into the Outcome's Status and Error.
type Task func(ctx context.Context, tenant string, note Note) Outcome

// Options control scheduling.
type Options struct {
	// Parallel is how many tenants run at once; below 1 means 1 (sequential). DeployAll refuses
	// a request for less than 1 before anything runs.
	Parallel int
	// ContinueOnError keeps starting tenants after one failed; by default the rest are skipped.
	ContinueOnError bool
	// Progress receives one line per state change; nil prints nothing.
	Progress *report.Progress
	// Waves are cumulative counts of tenants (ParseWaves): each wave runs after the one before
	// has finished, the canary first in the first; nil runs everybody in one go (after the
	// canary). A failure in a wave stops the next unless ContinueOnError.
	Waves []int
	// Bake is the wait between two waves.
	Bake time.Duration
}

// Run runs task for every selected tenant and returns their outcomes in selection order.
// The canary, if any, runs alone first and a failure there skips everybody else. Without
// ContinueOnError the first failure stops new starts (tenants already running finish); a
// cancelled ctx does the same and marks the unstarted tenants skipped. With Waves, each wave
// starts once the one before has finished (and Bake has passed), the canary first in wave 1.
func Run(ctx context.Context, sel Selection, task Task, opt Options) Summary {
	start := time.Now()
	parallel := max(opt.Parallel, 1)
	sum := Summary{Env: sel.Env, Canary: sel.Canary, Parallel: parallel, ContinueOnError: opt.ContinueOnError}
	sum.Outcomes = make([]Outcome, len(sel.Tenants))
	var (
		mu       sync.Mutex
		stopWhy  string
		position = map[string]int{}
	)
	for i, t := range sel.Tenants {
		position[t] = i
		sum.Outcomes[i] = Outcome{Tenant: t, Status: Skipped}
	}
	stopped := func() string {
		mu.Lock()
		defer mu.Unlock()
		if stopWhy == "" && ctx.Err() != nil {
			stopWhy = "interrupted before it started"
		}
		return stopWhy
	}
	skip := func(t, why string, wave int) {
		mu.Lock()
		sum.Outcomes[position[t]] = Outcome{Tenant: t, Status: Skipped, Error: why, Wave: wave}
		mu.Unlock()
		opt.Progress.Line(t, string(Skipped), Skipped.Tone(), why)
	}
	runOne := func(t string, wave int) Outcome {
		opt.Progress.Line(t, "started", report.Plain, "")
		o := protect(ctx, t, task, func(state, detail string) {
			opt.Progress.Line(t, state, report.Plain, detail)
		})
		o.Tenant, o.Wave = t, wave
		if o.Status == "" {
			o.Status = Failed
		}
		o.DurationMS = o.Duration.Milliseconds()
		mu.Lock()
		sum.Outcomes[position[t]] = o
		if o.Status.Failure() && stopWhy == "" && !opt.ContinueOnError {
			stopWhy = fmt.Sprintf("not started: %s %s", t, o.Status)
			if wave > 0 {
				stopWhy += fmt.Sprintf(" in wave %d", wave)
			}
		}
		mu.Unlock()
		opt.Progress.Line(t, string(o.Status), o.Status.Tone(), outcomeDetail(o))
		return o
	}
	pool := func(queue []string, wave int) {
		next := make(chan string)
		var wg sync.WaitGroup
		for range min(parallel, max(len(queue), 1)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for t := range next {
					if why := stopped(); why != "" {
						skip(t, why, wave)
						continue
					}
					runOne(t, wave)
				}
			}()
		}
		for _, t := range queue {
			next <- t
		}
		close(next)
		wg.Wait()
	}

	if len(opt.Waves) > 0 {
		sum.Waves = opt.Waves
		order := slices.Clone(sel.Tenants)
		if i := slices.Index(order, sel.Canary); i > 0 {
			order = slices.Insert(slices.Delete(order, i, i+1), 0, sel.Canary)
		}
		waves := splitWaves(order, opt.Waves)
		for k, wave := range waves {
			if k > 0 && opt.Bake > 0 && stopped() == "" {
				opt.Progress.Line(wave[0], "waiting", report.Plain, fmt.Sprintf("baking %s before wave %d", opt.Bake, k+1))
				select {
				case <-ctx.Done():
				case <-time.After(opt.Bake):
				}
			}
			if stopped() == "" {
				// Each wave announced on its first tenant's line, so the log shows where one ends.
				opt.Progress.Line(wave[0], "wave", report.Plain, fmt.Sprintf("wave %d of %d: %d tenant(s): %s", k+1, len(waves), len(wave), strings.Join(wave, ", ")))
			}
			pool(wave, k+1)
		}
		sum.Duration = time.Since(start)
		return sum
	}

	queue := sel.Tenants
	if sel.Canary != "" {
		if why := stopped(); why != "" {
			skip(sel.Canary, why, 0)
		} else if o := runOne(sel.Canary, 0); !o.Status.OK() {
			for _, t := range sel.Tenants {
				if t != sel.Canary {
					skip(t, fmt.Sprintf("not started: canary %s %s", sel.Canary, o.Status), 0)
				}
			}
			sum.Duration = time.Since(start)
			return sum
		}
		queue = make([]string, 0, len(sel.Tenants)-1)
		for _, t := range sel.Tenants {
			if t != sel.Canary {
				queue = append(queue, t)
			}
		}
	}
	pool(queue, 0)
	sum.Duration = time.Since(start)
	return sum
}

// protect turns a panicking task into a failed outcome so one tenant's bug cannot take the
// other tenants' runs (and their locks and records) down with it.
func protect(ctx context.Context, tenant string, task Task, note Note) (o Outcome) {
	began := time.Now()
	defer func() {
		if r := recover(); r != nil {
			o = Outcome{Tenant: tenant, Status: Failed, Duration: time.Since(began),
				Error: fmt.Sprintf("internal error (please report): %v\n%s", r, debug.Stack())}
		}
	}()
	o = task(ctx, tenant, note)
	if o.Duration == 0 {
		o.Duration = time.Since(began)
	}
	return o
}

func outcomeDetail(o Outcome) string {
	d := o.Duration.Round(100 * time.Millisecond).String()
	switch {
	case o.Error != "":
		return d + "  " + firstLine(o.Error)
	case o.URL != "":
		return d + "  " + o.URL
	default:
		return d
	}
}
