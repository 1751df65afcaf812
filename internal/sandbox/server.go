package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/atomicfile"
)

// Account is one Cloudflare account the sandbox serves, with the one token issued for it.
type Account struct {
	ID        string
	Name      string
	Subdomain string // the account's workers.dev subdomain
	Token     string // "" -> generated on first start and kept in the state file
	// KVNamespaces and VectorizeIndexes are added to the account when missing (resources.go).
	KVNamespaces     []KVNamespace
	VectorizeIndexes []VectorizeIndex
}

// Options configure a Server.
type Options struct {
	// StatePath is the JSON state file, written atomically after every change; "" keeps the
	// state in memory only.
	StatePath string
	// Accounts are merged into the loaded state: new ones are added, known ones keep their
	// token and scripts (name and subdomain are updated).
	Accounts []Account
	// Log receives the sandbox's own diagnostics; nil discards them.
	Log *slog.Logger
	// RequestLog, when set, receives one JSON line per request. Tokens never appear in it.
	RequestLog io.Writer
	// Now is the clock; nil means time.Now. Tests pin it.
	Now func() time.Time
	// Edge picks how the workers.dev edge answers: the fake health answer (the default, for
	// fleet-scale tests) or the uploaded code run in workerd. A Server with the workerd edge
	// must be closed (Close) to stop its runtimes.
	Edge EdgeOptions
	// SchemaAnswers answers with the schema's full results where the live API is leaner
	// (liveanswers.go); false, the default, answers as the live API does.
	SchemaAnswers bool
	// Observe, when set, is called with every API request and its answer, after the answer
	// went out. Tests check them against Cloudflare's contract; it must not block.
	Observe func(Exchange)
}

// Server is the sandbox. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time
	api  *http.ServeMux
	ctl  *http.ServeMux
	edge *workerdEdge // nil for the fake edge
	// patterns are the API routes apiRoutes registered, for Routes.
	patterns []string

	mu        sync.Mutex // guards w and the fields below
	w         *world
	faults    []*faultState
	latency   time.Duration
	limit     rateLimit
	windows   map[string]*rateWindow
	requests  map[string]int // token -> requests seen, for budget tests
	total     int
	logMu     sync.Mutex // serialises RequestLog lines
	startedAt time.Time
}

// API paths are served below this prefix; anything before it is ignored so that a base URL
// such as http://127.0.0.1:PORT/client/v4 works as it does against Cloudflare.
const apiPrefix = "/client/v4"

// New loads the state file (if any), merges opts.Accounts into it and returns a Server.
func New(opts Options) (*Server, error) {
	s := &Server{
		opts:     opts,
		log:      opts.Log,
		now:      opts.Now,
		limit:    rateLimit{Requests: defaultRateLimit, Window: defaultRateWindow},
		windows:  map[string]*rateWindow{},
		requests: map[string]int{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.startedAt = s.now()
	w, err := loadWorld(opts.StatePath)
	if err != nil {
		return nil, err
	}
	for _, a := range opts.Accounts {
		if !isHex32(a.ID) {
			return nil, fmt.Errorf("sandbox: account %q: id must be 32 lower-case hex characters", a.ID)
		}
		if a.Subdomain == "" {
			return nil, fmt.Errorf("sandbox: account %s: a workers.dev subdomain is required", a.ID)
		}
		acc := w.Accounts[a.ID]
		if acc == nil {
			acc = &accountState{ID: a.ID, Scripts: map[string]*scriptState{}}
			w.Accounts[a.ID] = acc
		}
		acc.Name, acc.Subdomain = a.Name, a.Subdomain
		if acc.Name == "" {
			acc.Name = a.ID
		}
		switch {
		case a.Token != "":
			acc.Token = a.Token
		case acc.Token == "":
			acc.Token = newToken()
		}
		if err := s.seedResourcesLocked(acc, a); err != nil {
			return nil, err
		}
	}
	s.w = w
	switch opts.Edge.Mode {
	case "", EdgeFake:
	case EdgeWorkerd:
		if s.edge, err = newWorkerdEdge(opts.Edge, s.log); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("sandbox: edge mode %q is unknown; use %q or %q", opts.Edge.Mode, EdgeWorkerd, EdgeFake)
	}
	s.api = s.apiRoutes()
	s.ctl = s.controlRoutes()
	if err := s.save(); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// Close stops every Worker runtime of the workerd edge and waits for them; the fake edge has
// nothing to stop. The state stays on disk.
func (s *Server) Close() error {
	if s.edge == nil {
		return nil
	}
	return s.edge.close()
}

// EdgeMode is how the workers.dev edge answers.
func (s *Server) EdgeMode() EdgeMode {
	if s.edge == nil {
		return EdgeFake
	}
	return EdgeWorkerd
}

// Handler serves the API under /client/v4, the control API under /__sandbox/ and the
// workers.dev edge for hosts ending in .workers.dev.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host := hostOnly(r.Host); strings.HasSuffix(host, ".workers.dev") {
			s.serveEdge(w, r, host)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/__sandbox/") {
			s.ctl.ServeHTTP(w, r)
			return
		}
		s.serveAPI(w, r)
	})
}

// Token is the token issued for accountID, or "" for an unknown account.
func (s *Server) Token(accountID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.w.Accounts[accountID]; a != nil {
		return a.Token
	}
	return ""
}

// Tokens maps every account id to its token.
func (s *Server) Tokens() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]string, len(s.w.Accounts))
	for id, a := range s.w.Accounts {
		m[id] = a.Token
	}
	return m
}

// Reset empties every account (scripts, versions, secrets, triggers), forgets zones, faults,
// unhealthy marks and request counts, stops the edge's runtimes and deletes their KV and
// Durable Object data, and keeps the accounts and their tokens.
func (s *Server) Reset() error {
	if s.edge != nil {
		if err := s.edge.reset(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.w.Accounts {
		a.Scripts = map[string]*scriptState{}
	}
	s.w.Zones = map[string]string{}
	s.w.ZoneRoutes = map[string][]Route{}
	s.w.Unhealthy = nil
	s.faults = nil
	s.latency = 0
	s.limit = rateLimit{Requests: defaultRateLimit, Window: defaultRateWindow}
	s.windows = map[string]*rateWindow{}
	s.requests = map[string]int{}
	return s.saveLocked()
}

// StatePath is where the state is persisted ("" when in memory only).
func (s *Server) StatePath() string { return s.opts.StatePath }

func loadWorld(path string) (*world, error) {
	w := &world{}
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("sandbox: read state %s: %w", path, err)
		default:
			if err := json.Unmarshal(data, w); err != nil {
				return nil, fmt.Errorf("sandbox: state file %s is not valid JSON (%w); delete it or run sandbox:reset to start empty", path, err)
			}
		}
	}
	if w.Accounts == nil {
		w.Accounts = map[string]*accountState{}
	}
	for _, a := range w.Accounts {
		if a.Scripts == nil {
			a.Scripts = map[string]*scriptState{}
		}
		for _, sc := range a.Scripts {
			if sc.Secrets == nil {
				sc.Secrets = map[string]secretState{}
			}
		}
	}
	if w.Zones == nil {
		w.Zones = map[string]string{}
	}
	if w.ZoneRoutes == nil {
		w.ZoneRoutes = map[string][]Route{}
	}
	return w, nil
}

func (s *Server) save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked()
}

// saveLocked writes the state to a temporary file beside the target and renames it over, so
// a reader (or a crash) never sees half a file.
func (s *Server) saveLocked() error {
	path := s.opts.StatePath
	if path == "" {
		return nil
	}
	data, err := json.Marshal(s.w)
	if err != nil {
		return fmt.Errorf("sandbox: encode state: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sandbox: state dir %s: %w", dir, err)
	}
	if err := atomicfile.Write(path, data, atomicfile.Options{}); err != nil {
		return fmt.Errorf("sandbox: write state %s: %w", path, err)
	}
	return nil
}

// stampLocked returns the current time as Cloudflare-style RFC3339 UTC with a fixed-width
// fraction, strictly later than every stamp before it.
func (s *Server) stampLocked() string {
	t := s.now().UTC()
	if last, err := time.Parse(stampLayout, s.w.LastStamp); err == nil && !t.After(last) {
		t = last.Add(time.Microsecond)
	}
	s.w.LastStamp = t.Format(stampLayout)
	return s.w.LastStamp
}

const stampLayout = "2006-01-02T15:04:05.000000Z"

func newToken() string { return "sbx_" + randHex(20) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

func isHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func hostOnly(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	return strings.ToLower(host)
}
