package cfapi

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Two Clients of one token draw from one window: the server never sees more than the budget
// in any window, and the requests past it wait instead of failing.
func TestBudgetIsSharedByEveryClientOfAToken(t *testing.T) {
	const limit, window = 4, 400 * time.Millisecond
	var served atomic.Int32
	base := stub(t, func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		writeEnv(w, 200, true, map[string]any{"schedules": []any{}})
	})
	token := uniqueToken(t)
	budget := Budget{Requests: limit, Window: window}
	a := newClient(t, base, token, func(c *Config) { c.Budget = budget })
	b := newClient(t, base, token, func(c *Config) { c.Budget = budget })
	if a.pacer.budget != b.pacer.budget {
		t.Fatal("two clients of one token have windows of their own")
	}
	// The slots as the window granted them (called under its lock). The server's receive
	// times would blur them by however late a loaded machine schedules each request.
	var granted []time.Time
	a.pacer.budget.granted = func(at time.Time) { granted = append(granted, at) }
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := a
			if i%2 == 1 {
				c = b
			}
			if _, err := c.Schedules(context.Background(), "w"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if took := time.Since(start); took < 2*window {
		t.Fatalf("10 requests at %d per %s finished in %s: the budget was not enforced", limit, window, took)
	}
	if served.Load() != 10 || len(granted) != 10 {
		t.Fatalf("%d requests served, %d slots granted; want 10 of each", served.Load(), len(granted))
	}
	for i := range granted {
		n := 0
		for _, g := range granted[i:] {
			if g.Sub(granted[i]) < window {
				n++
			}
		}
		if n > limit {
			t.Fatalf("%d requests granted within one window starting at request %d; budget %d", n, i, limit)
		}
	}
	if a.BudgetInUse() == 0 || a.BudgetInUse() != b.BudgetInUse() {
		t.Fatalf("clients of one token report different windows: %d vs %d", a.BudgetInUse(), b.BudgetInUse())
	}
}

func TestBudgetFailsFastWhenTheDeadlineIsTooNear(t *testing.T) {
	now := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	w := &slidingWindow{limit: 2, span: 5 * time.Minute, now: func() time.Time { return now }, sleep: sleepCtx}
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(time.Minute))
	defer cancel()
	for range 2 {
		if err := w.take(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.take(ctx); !errors.Is(err, ErrBudgetExhausted) {
		t.Fatalf("third request within 5 min with a 1 min deadline: want ErrBudgetExhausted, got %v", err)
	}
	// Once the window has slid past the first request, there is room again.
	now = now.Add(5*time.Minute + time.Second)
	if err := w.take(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.inUse() != 1 {
		t.Fatalf("in use after the slide: %d, want 1", w.inUse())
	}
}

// BudgetInUse is how many requests this client's token has made in the current window,
// counted across every Client of the token in the process.
func (c *Client) BudgetInUse() int { return c.pacer.budget.inUse() }
