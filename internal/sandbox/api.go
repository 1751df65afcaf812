package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiError is a failure answered with Cloudflare's envelope: success false and one error.
type apiError struct {
	Status  int
	Code    int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s [code: %d]", e.Message, e.Code) }

func errf(status, code int, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error codes the sandbox answers with. The first group is what Cloudflare uses and wrangler
// tests for; the rest are the sandbox's own picks for invalid requests.
const (
	codeAuth            = 10000
	codeUnknown         = 10013
	codeScriptNotFound  = 10007
	codeServiceNotFound = 10090
	codeSecretNotDeploy = 10215
	codeSecretsChanged  = 10220
	codeRateLimited     = 971
	codeNoRoute         = 7003
	codeMethodNotAllow  = 7001
	codeInvalidToken    = 1000
	codeUserForbidden   = 9109
	codeBadRequest      = 10026
	codeMigrationTag    = 10079
	// codeVersionMigration: a version upload may not carry Durable Object migrations; they go
	// through a deploy (preflight-and-rollouts.md §1).
	codeVersionMigration = 10211
)

func notFoundScript(name string) *apiError {
	return errf(http.StatusNotFound, codeScriptNotFound, "This Worker (%s) does not exist on your account.", name)
}

type errorItem struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type envelope struct {
	Success    bool        `json:"success"`
	Errors     []errorItem `json:"errors"`
	Messages   []any       `json:"messages"`
	Result     any         `json:"result"`
	ResultInfo *resultInfo `json:"result_info,omitempty"`
}

type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

// paged is a handler result that carries result_info beside the result.
type paged struct {
	result any
	info   resultInfo
}

// rawBody is a handler result written as is, not wrapped in the envelope (content/v2).
type rawBody struct {
	contentType string
	header      map[string]string
	body        []byte
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a write error means the client went away
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Status, envelope{Success: false, Errors: []errorItem{{e.Code, e.Message}}, Messages: []any{}, Result: nil})
}

// call is what an API handler gets: the request, and for account routes the account whose
// token was checked. Handlers run with Server.mu held.
type call struct {
	r    *http.Request
	acct *accountState
}

func (c *call) script() string { return c.r.PathValue("script") }

// existing returns the script named in the path or the 10007 not-found error.
func (c *call) existing() (*scriptState, error) {
	sc := c.acct.Scripts[c.script()]
	if sc == nil {
		return nil, notFoundScript(c.script())
	}
	return sc, nil
}

func (c *call) decode(v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, c.r.Body, 8<<20))
	if err := dec.Decode(v); err != nil {
		return errf(http.StatusBadRequest, codeBadRequest, "request body is not the JSON this endpoint expects: %v", err)
	}
	return nil
}

type apiFunc func(c *call) (any, error)

type authMode int

const (
	authAccount  authMode = iota // the token must belong to the {account} in the path
	authAnyToken                 // any token the sandbox issued
)

// handle registers fn for pattern (relative to /client/v4) with the given auth. Handlers of
// non-GET requests that succeed have their change persisted before the answer goes out.
func (s *Server) handle(mux *http.ServeMux, pattern string, mode authMode, fn apiFunc) {
	s.patterns = append(s.patterns, pattern)
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		// Read the body before taking the lock, so a slow upload does not stall every other
		// client of the sandbox.
		if r.Body != nil && r.Method != http.MethodGet {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpload))
			if err != nil {
				writeError(w, errf(http.StatusRequestEntityTooLarge, codeBadRequest, "request body unreadable or over %d MB: %v", maxUpload>>20, err))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		c := &call{r: r}
		token, hasToken := bearer(r)
		owner := s.accountByTokenLocked(token)
		switch {
		case !hasToken:
			writeError(w, errf(http.StatusUnauthorized, codeAuth, "Authentication error: no API token in the Authorization header"))
			return
		case owner == nil:
			writeError(w, errf(http.StatusUnauthorized, codeAuth, "Authentication error: the API token is not valid"))
			return
		case mode == authAccount:
			if owner.ID != r.PathValue("account") {
				writeError(w, errf(http.StatusForbidden, codeAuth, "Authentication error"))
				return
			}
		}
		c.acct = owner
		res, err := fn(c)
		if err == nil && r.Method != http.MethodGet {
			err = s.saveLocked()
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				s.log.Error("sandbox request failed", "method", r.Method, "path", r.URL.Path, "err", err)
				ae = errf(http.StatusInternalServerError, codeUnknown, "internal sandbox error: %v", err)
			}
			writeError(w, ae)
			return
		}
		switch v := res.(type) {
		case rawBody:
			for k, val := range v.header {
				w.Header().Set(k, val)
			}
			w.Header().Set("Content-Type", v.contentType)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(v.body)
		case paged:
			writeJSON(w, http.StatusOK, envelope{Success: true, Errors: []errorItem{}, Messages: []any{}, Result: v.result, ResultInfo: &v.info})
		default:
			writeJSON(w, http.StatusOK, envelope{Success: true, Errors: []errorItem{}, Messages: []any{}, Result: res})
		}
	})
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	tok = strings.TrimSpace(tok)
	return tok, ok && tok != ""
}

func (s *Server) accountByTokenLocked(token string) *accountState {
	if token == "" {
		return nil
	}
	for _, a := range s.w.Accounts {
		if a.Token == token {
			return a
		}
	}
	return nil
}

// statusRecorder remembers the status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// maxDelayedBody bounds what a delayed request may carry; uploads of our Workers are far smaller.
const maxDelayedBody = 64 << 20

// serveAPI applies latency, faults and the rate limit, then routes the request.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	conn := w // the server's own writer, which a Reset fault hijacks
	var ex *Exchange
	var capture *captureWriter
	if s.opts.Observe != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxDelayedBody))
		if err != nil {
			writeError(w, errf(http.StatusBadRequest, codeBadRequest, "request body unreadable: %v", err))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		ex = &Exchange{Method: r.Method, Query: r.URL.RawQuery, RequestType: r.Header.Get("Content-Type"), Request: body}
		capture = &captureWriter{ResponseWriter: w}
		w = capture
	}
	rec := &statusRecorder{ResponseWriter: w}
	faulted := false
	defer func() {
		s.logRequest(r, rec.status, time.Since(start), faulted)
		if ex != nil {
			ex.Status, ex.Fault = rec.status, faulted
			ex.ResponseType = rec.Header().Get("Content-Type")
			ex.Response = capture.body.Bytes()
			s.opts.Observe(*ex)
		}
	}()

	i := strings.Index(r.URL.Path, apiPrefix)
	if i < 0 {
		writeError(rec, errf(http.StatusNotFound, codeNoRoute, "no route for %s: the sandbox serves the Cloudflare API under %s", r.URL.Path, apiPrefix))
		return
	}
	rest := r.URL.Path[i+len(apiPrefix):]
	if ex != nil {
		ex.Path = rest
	}
	if strings.Contains(rest, "//") {
		writeError(rec, errf(http.StatusNotFound, codeNoRoute, "no route for %s: the path has an empty segment; the API base URL must not end with a slash", r.URL.Path))
		return
	}
	token, _ := bearer(r)

	delay, f := s.takeFault(r.Method, rest)
	if delay > 0 {
		// Read the body first: Go's server notices a client that gave up only once the
		// body is consumed, and a delayed request must end when its client does (a
		// cancelled wrangler), not hold the server for the whole delay.
		body, err := io.ReadAll(io.LimitReader(r.Body, maxDelayedBody+1))
		if err != nil || len(body) > maxDelayedBody {
			writeError(rec, errf(http.StatusRequestEntityTooLarge, codeBadRequest, "request body unreadable or over %d bytes", maxDelayedBody))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if f != nil && f.Reset {
		faulted = true
		if !f.AfterWrite {
			s.countRequest(token)
			resetConnection(conn)
			return
		}
		// The request takes effect, then its answer is lost: a reset instead of the answer.
		rec = &statusRecorder{ResponseWriter: discardAnswer{header: http.Header{}}}
		defer resetConnection(conn)
	}
	if f != nil && (f.Status != 0 || f.Body != "") {
		faulted = true
		s.countRequest(token)
		writeFault(rec, f)
		return
	}
	s.countRequest(token)
	if retry, limited := s.rateLimited(token); limited {
		faulted = true
		rec.Header().Set("Retry-After", retry)
		writeError(rec, errf(http.StatusTooManyRequests, codeRateLimited, "Please wait and consider throttling your request speed"))
		return
	}

	r2 := r.Clone(r.Context())
	r2.URL.Path = rest
	r2.URL.RawPath = ""
	pattern := s.routeOf(r2)
	if ex != nil {
		ex.Pattern = pattern
	}
	if pattern == "" {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe := r2.Clone(r.Context())
			probe.Method = m
			if _, p := s.api.Handler(probe); p != "" && m != r.Method {
				writeError(rec, errf(http.StatusMethodNotAllowed, codeMethodNotAllow, "%s is not allowed on %s", r.Method, rest))
				return
			}
		}
		writeError(rec, errf(http.StatusNotFound, codeNoRoute, "No route for that URI: %s", rest))
		return
	}
	s.api.ServeHTTP(rec, r2)
}

func (s *Server) countRequest(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	if token != "" {
		s.requests[token]++
	}
}

// RequestCount is how many API requests carried token, including refused, faulted and
// rate-limited ones: it measures what a client spent, not what succeeded.
func (s *Server) RequestCount(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[token]
}

// requestLogLine is one line of the request log. It deliberately has no field for headers, so
// a token cannot end up in it.
type requestLogLine struct {
	Time       string  `json:"time"`
	Method     string  `json:"method"`
	Host       string  `json:"host,omitempty"`
	Path       string  `json:"path"`
	Query      string  `json:"query,omitempty"`
	Status     int     `json:"status"`
	Account    string  `json:"account,omitempty"`
	DurationMs float64 `json:"duration_ms"`
	Fault      bool    `json:"fault,omitempty"`
}

func (s *Server) logRequest(r *http.Request, status int, took time.Duration, fault bool) {
	s.log.Debug("sandbox request", "method", r.Method, "path", r.URL.Path, "status", status, "took", took)
	if s.opts.RequestLog == nil {
		return
	}
	line := requestLogLine{
		Time:       time.Now().UTC().Format(stampLayout),
		Method:     r.Method,
		Path:       r.URL.Path,
		Query:      r.URL.RawQuery,
		Status:     status,
		Account:    accountInPath(r.URL.Path),
		DurationMs: float64(took.Microseconds()) / 1000,
		Fault:      fault,
	}
	if h := hostOnly(r.Host); strings.HasSuffix(h, ".workers.dev") {
		line.Host = h
	}
	data, err := json.Marshal(line)
	if err != nil {
		return
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	_, _ = s.opts.RequestLog.Write(append(data, '\n'))
}

func accountInPath(p string) string {
	_, after, ok := strings.Cut(p, "/accounts/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(after, "/")
	return id
}
