package testworld

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
)

// RequestLog collects a sandbox's request log (sandbox.Options.RequestLog, Options.RequestLog)
// for tests that assert which requests a run made; the sandbox writes it from its handlers'
// goroutines.
type RequestLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *RequestLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String is the log so far, one JSON line per request.
func (l *RequestLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Reset forgets the requests logged so far.
func (l *RequestLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}

// Count is how many logged requests went to a path containing part.
func (l *RequestLog) Count(part string) int {
	n := 0
	for _, line := range strings.Split(l.String(), "\n") {
		var r struct{ Path string }
		if json.Unmarshal([]byte(line), &r) == nil && strings.Contains(r.Path, part) {
			n++
		}
	}
	return n
}
