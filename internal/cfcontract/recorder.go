package cfcontract

import (
	"sort"
	"sync"
	"testing"
)

// Recorder keeps the exchanges of one sandbox for a check when the test ends.
type Recorder struct {
	mu  sync.Mutex
	exs []Exchange
}

// Add records one exchange; safe for concurrent use (the sandbox calls it from its handlers).
func (r *Recorder) Add(ex Exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exs = append(r.exs, ex)
}

// Exchanges is what was recorded so far.
func (r *Recorder) Exchanges() []Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Exchange(nil), r.exs...)
}

// Problems checks every recorded exchange; each distinct problem once, sorted.
func (r *Recorder) Problems(seen *Checked) []Problem {
	uniq := map[string]Problem{}
	for _, ex := range r.Exchanges() {
		for _, p := range Check(ex, seen) {
			uniq[p.String()] = p
		}
	}
	out := make([]Problem, 0, len(uniq))
	for _, p := range uniq {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// exchangeFields is Exchange's underlying type; sandbox.Exchange has the same one.
type exchangeFields = struct {
	Method       string
	Pattern      string
	Path         string
	Query        string
	RequestType  string
	Request      []byte
	Status       int
	ResponseType string
	Response     []byte
	Fault        bool
}

// Observer is a sandbox.Options.Observe that judges every exchange of the sandbox when tb
// ends: cfcontract.Observer[sandbox.Exchange](t). (Generic so that this package need not
// import the sandbox, whose own tests use it.)
func Observer[E ~exchangeFields](tb testing.TB) func(E) {
	tb.Helper()
	rec := &Recorder{}
	rec.VerifyAtEnd(tb)
	return func(ex E) { rec.Add(Exchange(ex)) }
}

// VerifyAtEnd checks everything r recorded when tb ends and reports each problem as an error.
func (r *Recorder) VerifyAtEnd(tb testing.TB) {
	tb.Helper()
	tb.Cleanup(func() {
		var seen Checked
		for _, p := range r.Problems(&seen) {
			tb.Errorf("Cloudflare contract (cloudflare-go v6 types): %s", p)
		}
		routes := map[string]bool{}
		for _, ex := range r.Exchanges() {
			routes[ex.Pattern] = true
		}
		tb.Logf("Cloudflare contract: %d exchanges on %d routes, %d required fields checked", len(r.Exchanges()), len(routes), len(seen.Fields))
	})
}
