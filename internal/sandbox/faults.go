package sandbox

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault makes matching API requests fail or slow down.
type Fault struct {
	// Name picks a fault of the catalogue (faults_named.go) by name; fields set beside it
	// (path, count, status, latency) override the catalogue's.
	Name string `json:"name,omitempty"`
	// Method is the HTTP method to match; "" or "*" matches any. Path may instead start with
	// the method, as in "POST /accounts/*/workers/scripts/*/versions".
	Method string `json:"method,omitempty"`
	// Path is matched against the path below /client/v4, segment by segment: "*" matches one
	// segment, a final "**" matches the rest.
	Path string `json:"path"`
	// Status is the HTTP status to answer with; 0 with no Body only adds Latency.
	Status int `json:"status,omitempty"`
	// Code is the Cloudflare error code in the envelope; 0 picks one from the status.
	Code int `json:"code,omitempty"`
	// Count is how many matching requests are affected; 0 means every one until cleared.
	Count int `json:"count,omitempty"`
	// Latency delays matching requests before they are answered.
	Latency time.Duration `json:"latency,omitempty"`
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string `json:"retry_after,omitempty"`
	// Message is the error message; "" picks one from the code.
	Message string `json:"message,omitempty"`
	// Body, when set, is sent instead of the envelope as text/html, like a gateway error page
	// (wrangler reports it as a malformed response).
	Body string `json:"body,omitempty"`
	// Reset ends the connection with a TCP reset instead of answering.
	Reset bool `json:"reset,omitempty"`
	// AfterWrite, with Reset, lets the request take effect first: the answer is what is lost.
	AfterWrite bool `json:"after_write,omitempty"`
}

type faultState struct {
	Fault
	method string
	segs   []string
	left   int // remaining uses; -1 for unlimited
}

const (
	defaultRateLimit  = 1200
	defaultRateWindow = 5 * time.Minute
)

type rateLimit struct {
	Requests int
	Window   time.Duration
}

type rateWindow struct {
	start time.Time
	n     int
}

// AddFault adds f after the faults already set; the first match wins. A fault with an unknown
// Name is ignored; the control API refuses it with the list of names.
func (s *Server) AddFault(f Fault) {
	f, err := withName(f)
	if err != nil {
		s.log.Warn("sandbox: fault not added", "err", err)
		return
	}
	fs := &faultState{Fault: f, method: strings.ToUpper(strings.TrimSpace(f.Method)), left: -1}
	path := strings.TrimSpace(f.Path)
	if m, p, ok := strings.Cut(path, " "); ok && !strings.HasPrefix(m, "/") {
		fs.method, path = strings.ToUpper(m), strings.TrimSpace(p)
	}
	if fs.method == "*" {
		fs.method = ""
	}
	path = strings.TrimPrefix(path, apiPrefix)
	fs.segs = strings.Split(strings.Trim(path, "/"), "/")
	if f.Count > 0 {
		fs.left = f.Count
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fs)
}

// ClearFaults removes every fault and the global latency.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.latency = 0
}

// Faults lists the faults still active.
func (s *Server) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		c := f.Fault
		if f.left >= 0 {
			c.Count = f.left
		}
		out = append(out, c)
	}
	return out
}

// SetLatency delays every API request by d (0 turns it off).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(d, 0)
}

// SetRateLimit allows n API requests per token per window; beyond that the answer is 429 with
// code 971 and Retry-After. n <= 0 turns the limit off. The default is 1,200 per 5 minutes.
func (s *Server) SetRateLimit(n int, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = rateLimit{Requests: n, Window: window}
	s.windows = map[string]*rateWindow{}
}

// takeFault returns how long to delay the request and the fault that answers it, if any.
func (s *Server) takeFault(method, path string) (time.Duration, *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delay := s.latency
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, f := range s.faults {
		if f.method != "" && f.method != method || !matchSegments(f.segs, segs) {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		c := f.Fault
		return delay + f.Latency, &c
	}
	return delay, nil
}

func matchSegments(pattern, path []string) bool {
	for i, p := range pattern {
		if p == "**" {
			return true
		}
		if i >= len(path) || p != "*" && p != path[i] {
			return false
		}
	}
	return len(pattern) == len(path)
}

func writeFault(w http.ResponseWriter, f *Fault) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	status := f.Status
	if status == 0 {
		status = http.StatusBadGateway
	}
	if f.Body != "" {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	code := f.Code
	if code == 0 {
		switch {
		case status == http.StatusTooManyRequests:
			code = codeRateLimited
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			code = codeAuth
		default:
			code = codeUnknown
		}
	}
	msg := f.Message
	if msg == "" {
		switch code {
		case codeRateLimited:
			msg = "Please wait and consider throttling your request speed"
		default:
			msg = "An unknown error has occurred"
		}
	}
	writeError(w, &apiError{Status: status, Code: code, Message: msg})
}

// rateLimited counts the request against token's window and reports whether it is over the
// limit, with the Retry-After value (whole seconds until the window ends).
func (s *Server) rateLimited(token string) (string, bool) {
	if token == "" {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit.Requests <= 0 {
		return "", false
	}
	now := s.now()
	win := s.windows[token]
	if win == nil || now.Sub(win.start) >= s.limit.Window {
		win = &rateWindow{start: now}
		s.windows[token] = win
	}
	win.n++
	if win.n <= s.limit.Requests {
		return "", false
	}
	wait := win.start.Add(s.limit.Window).Sub(now)
	return strconv.Itoa(int(math.Ceil(wait.Seconds()))), true
}
