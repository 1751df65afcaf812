package cfapi

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"
)

// Budget is how many requests one token may make in any window of time. Cloudflare allows
// 1,200 requests per 5 minutes per token; going over costs a 429 for the whole window, so
// the client paces itself below that instead of finding out.
type Budget struct {
	Requests int
	Window   time.Duration
}

// DefaultBudget is Cloudflare's published per-token limit.
var DefaultBudget = Budget{Requests: 1200, Window: 5 * time.Minute}

// A sliding window (not a token bucket) because it guarantees the property Cloudflare
// enforces: never more than Requests in any Window. A bucket refilled at Requests/Window
// with a full burst could send twice that in one window.
type slidingWindow struct {
	mu    sync.Mutex
	limit int
	span  time.Duration
	sent  []time.Time // oldest first
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	// granted, when set, sees each request's slot as it is granted (under mu): the tests judge
	// the window by the times it decided on, which no scheduling delay can blur.
	granted func(time.Time)
}

// budgets holds one window per token (keyed by the token's sha256, so the map never holds a
// token) so that every Client of a token in this process draws from the same allowance.
var budgets = struct {
	sync.Mutex
	byToken map[[32]byte]*slidingWindow
}{byToken: map[[32]byte]*slidingWindow{}}

// sharedWindow returns the window of token; the first Client of a token fixes its budget.
func sharedWindow(token string, b Budget) *slidingWindow {
	key := sha256.Sum256([]byte(token))
	budgets.Lock()
	defer budgets.Unlock()
	if w, ok := budgets.byToken[key]; ok {
		return w
	}
	w := &slidingWindow{limit: b.Requests, span: b.Window, now: time.Now, sleep: sleepCtx}
	budgets.byToken[key] = w
	return w
}

// take blocks until one more request fits in the window, or fails at once when the wait
// would outlast ctx's deadline.
func (w *slidingWindow) take(ctx context.Context) error {
	if w.limit <= 0 {
		return nil
	}
	for {
		w.mu.Lock()
		now := w.now()
		cut := 0
		for cut < len(w.sent) && !w.sent[cut].After(now.Add(-w.span)) {
			cut++
		}
		w.sent = w.sent[cut:]
		if len(w.sent) < w.limit {
			w.sent = append(w.sent, now)
			if w.granted != nil {
				w.granted(now)
			}
			w.mu.Unlock()
			return nil
		}
		wait := w.sent[0].Add(w.span).Sub(now)
		w.mu.Unlock()
		if dl, ok := ctx.Deadline(); ok && now.Add(wait).After(dl) {
			return fmt.Errorf("%w: %d requests per %s already used; next slot in %s, after the deadline",
				ErrBudgetExhausted, w.limit, w.span, wait.Round(time.Millisecond))
		}
		if err := w.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// inUse is how many requests the window currently counts.
func (w *slidingWindow) inUse() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	n := 0
	for _, t := range w.sent {
		if t.After(now.Add(-w.span)) {
			n++
		}
	}
	return n
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
