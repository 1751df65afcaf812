package report

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress prints one line per state change of a unit of work (a tenant), prefixed with its
// name, to a shared writer. It is safe for concurrent use: lines from parallel tenants never
// interleave within a line.
type Progress struct {
	mu     sync.Mutex
	w      io.Writer
	colour bool
	width  int
	now    func() time.Time
	start  time.Time
}

// NewProgress writes to w (normally stderr). names are every prefix that will be used; they
// set the prefix column's width so lines stay aligned.
func NewProgress(w io.Writer, names []string) *Progress {
	p := &Progress{w: w, colour: Colour(w), now: time.Now}
	p.start = p.now()
	for _, n := range names {
		p.width = max(p.width, len(n))
	}
	return p
}

// Line prints "[elapsed] name  state  detail".
func (p *Progress) Line(name, state string, tone Tone, detail string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := p.now().Sub(p.start).Truncate(100 * time.Millisecond)
	pad := strings.Repeat(" ", max(0, p.width-len(name)))
	msg := fmt.Sprintf("[%6s] %s%s  %s", fmtElapsed(elapsed), name, pad, paint(state, tone, p.colour))
	if detail != "" {
		msg += "  " + detail
	}
	fmt.Fprintln(p.w, msg)
}

func fmtElapsed(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}
