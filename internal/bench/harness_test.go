package bench

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Figure is one reported number.
type Figure struct {
	Name  string
	Value string
}

// Options size the benchmarks; zero values take the figures.
type Options struct {
	DeployTenants  int           // default 20
	DeployLatency  time.Duration // default 150 ms per API request
	DeployParallel int           // default 4
	DeployRounds   int           // default 1 (each round deploys every tenant three times)
	DriftTenants   int           // default 100
	DriftLatency   time.Duration // default 100 ms per API request
	DriftParallel  int           // default drift.DefaultParallel
	DriftRounds    int           // default 3
	ReportTenants  int           // default 500
	ReportRounds   int           // default 3
	EdgeTenants    int           // default 20
	EdgeRequests   int           // default 200 (steady latency samples)
	// PreflightTenants, PreflightLatency, PreflightParallel and PreflightRounds size
	// `preflight all` (defaults 100, 100 ms, preflight.DefaultParallel, 3).
	PreflightTenants  int
	PreflightLatency  time.Duration
	PreflightParallel int
	PreflightRounds   int
	// Only runs just "deploy", "drift", "status", "report", "edge" or "preflight"; "" runs all.
	Only string
	// Dir holds the generated workspaces; "" uses a temporary folder.
	Dir string
	Log *slog.Logger
	// Progress receives a line as each phase starts; nil discards.
	Progress io.Writer
}

func (o *Options) defaults() {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	defD := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&o.DeployTenants, 20)
	defD(&o.DeployLatency, 150*time.Millisecond)
	def(&o.DeployParallel, 4)
	def(&o.DeployRounds, 1)
	def(&o.DriftTenants, 100)
	defD(&o.DriftLatency, 100*time.Millisecond)
	def(&o.DriftParallel, 16)
	def(&o.DriftRounds, 3)
	def(&o.ReportTenants, 500)
	def(&o.ReportRounds, 3)
	def(&o.EdgeTenants, 20)
	def(&o.EdgeRequests, 200)
	def(&o.PreflightTenants, 100)
	defD(&o.PreflightLatency, 100*time.Millisecond)
	def(&o.PreflightParallel, 16)
	def(&o.PreflightRounds, 3)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// sideBySide runs one sequential and one parallel pass per round, alternating so that both
// variants see the same machine, and returns their times and the API requests one pass spent.
func sideBySide(progress io.Writer, name string, rounds, parallel int, pass func(parallel int) (time.Duration, int, error)) (seq, par []time.Duration, spent int, err error) {
	for round := 1; round <= rounds; round++ {
		fmt.Fprintf(progress, "bench %s: round %d/%d: sequential, then %d at once\n", name, round, rounds, parallel)
		s, n, err := pass(1)
		if err != nil {
			return nil, nil, 0, err
		}
		p, _, err := pass(parallel)
		if err != nil {
			return nil, nil, 0, err
		}
		seq, par, spent = append(seq, s), append(par, p), n
	}
	return seq, par, spent, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", a.Seconds()/b.Seconds())
}

func list(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = seconds(d)
	}
	return strings.Join(parts, " ")
}
