package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The control API lives under /__sandbox/. It needs no token, so it answers only loopback
// clients; its bodies are plain JSON, not Cloudflare's envelope.
func (s *Server) controlRoutes() *http.ServeMux {
	m := http.NewServeMux()
	h := func(pattern string, fn func(r *http.Request) (any, error)) {
		m.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if !fromLoopback(r) {
				writeJSON(w, http.StatusForbidden, map[string]string{"error": "the sandbox control API answers loopback clients only"})
				return
			}
			res, err := fn(r)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			if res == nil {
				res = map[string]bool{"ok": true}
			}
			writeJSON(w, http.StatusOK, res)
		})
	}
	h("GET /__sandbox/status", func(*http.Request) (any, error) { return s.Status(), nil })
	h("GET /__sandbox/tokens", func(*http.Request) (any, error) { return s.Tokens(), nil })
	h("POST /__sandbox/reset", func(*http.Request) (any, error) { return nil, s.Reset() })
	h("GET /__sandbox/faults", func(*http.Request) (any, error) { return s.Faults(), nil })
	h("POST /__sandbox/faults", func(r *http.Request) (any, error) {
		var f Fault
		if err := decodeControl(r, &f); err != nil {
			return nil, err
		}
		if _, err := withName(f); err != nil {
			return nil, err
		}
		if f.Path == "" && f.Name == "" {
			return nil, errors.New(`a fault needs a name (` + strings.Join(FaultNames(), ", ") + `) or a path pattern such as "POST /accounts/*/workers/scripts/*/versions"`)
		}
		s.AddFault(f)
		return s.Faults(), nil
	})
	h("DELETE /__sandbox/faults", func(*http.Request) (any, error) { s.ClearFaults(); return nil, nil })
	h("POST /__sandbox/latency", func(r *http.Request) (any, error) {
		var body struct {
			Ms *int64 `json:"ms"`
		}
		if err := decodeControl(r, &body); err != nil {
			return nil, err
		}
		if body.Ms == nil || *body.Ms < 0 {
			return nil, errors.New(`latency needs {"ms": N} with N >= 0`)
		}
		s.SetLatency(time.Duration(*body.Ms) * time.Millisecond)
		return nil, nil
	})
	h("POST /__sandbox/ratelimit", func(r *http.Request) (any, error) {
		var body struct {
			Requests int   `json:"requests"`
			WindowMs int64 `json:"window_ms"`
		}
		if err := decodeControl(r, &body); err != nil {
			return nil, err
		}
		if body.Requests > 0 && body.WindowMs <= 0 {
			return nil, errors.New(`ratelimit needs {"requests": N, "window_ms": M} with M > 0 (requests 0 turns the limit off)`)
		}
		s.SetRateLimit(body.Requests, time.Duration(body.WindowMs)*time.Millisecond)
		return nil, nil
	})
	h("POST /__sandbox/unhealthy", func(r *http.Request) (any, error) {
		var body struct {
			VersionID string `json:"version_id"`
		}
		if err := decodeControl(r, &body); err != nil {
			return nil, err
		}
		if body.VersionID == "" {
			return nil, errors.New(`unhealthy needs {"version_id": "<id>"}`)
		}
		s.MarkUnhealthy(body.VersionID)
		return nil, nil
	})
	h("DELETE /__sandbox/unhealthy", func(*http.Request) (any, error) { s.ClearUnhealthy(); return nil, nil })
	h("POST /__sandbox/zones", func(r *http.Request) (any, error) {
		var body struct {
			Name string `json:"name"`
		}
		if err := decodeControl(r, &body); err != nil {
			return nil, err
		}
		id, err := s.AddZone(body.Name)
		return map[string]string{"id": id, "name": body.Name}, err
	})
	h("POST /__sandbox/scheduled", func(r *http.Request) (any, error) {
		var body struct {
			Host string `json:"host"`
			Cron string `json:"cron"`
		}
		if err := decodeControl(r, &body); err != nil {
			return nil, err
		}
		return s.TriggerScheduled(r.Context(), body.Host, body.Cron)
	})
	h("POST /__sandbox/mutate", func(r *http.Request) (any, error) {
		var m Mutation
		if err := decodeControl(r, &m); err != nil {
			return nil, err
		}
		return nil, s.Mutate(m)
	})
	s.resourceControlRoutes(h)
	return m
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func decodeControl(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	return nil
}

// faultJSON is Fault on the wire: latency in milliseconds instead of nanoseconds.
type faultJSON struct {
	Name       string `json:"name,omitempty"`
	Method     string `json:"method,omitempty"`
	Path       string `json:"path"`
	Status     int    `json:"status,omitempty"`
	Code       int    `json:"code,omitempty"`
	Count      int    `json:"count,omitempty"`
	LatencyMs  int64  `json:"latency_ms,omitempty"`
	RetryAfter string `json:"retry_after,omitempty"`
	Message    string `json:"message,omitempty"`
	Body       string `json:"body,omitempty"`
	Reset      bool   `json:"reset,omitempty"`
	AfterWrite bool   `json:"after_write,omitempty"`
}

// MarshalJSON writes the latency as latency_ms.
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultJSON{f.Name, f.Method, f.Path, f.Status, f.Code, f.Count, f.Latency.Milliseconds(), f.RetryAfter, f.Message, f.Body, f.Reset, f.AfterWrite})
}

// UnmarshalJSON reads the control API's fault body.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	*f = Fault{j.Name, j.Method, j.Path, j.Status, j.Code, j.Count, time.Duration(j.LatencyMs) * time.Millisecond, j.RetryAfter, j.Message, j.Body, j.Reset, j.AfterWrite}
	return nil
}

// MarkUnhealthy makes the workers.dev edge answer 503 whenever it serves versionID.
func (s *Server) MarkUnhealthy(versionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.w.Unhealthy, versionID) {
		s.w.Unhealthy = append(s.w.Unhealthy, versionID)
	}
	s.saveOrLogLocked()
}

// ClearUnhealthy makes every version healthy again.
func (s *Server) ClearUnhealthy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.Unhealthy = nil
	s.saveOrLogLocked()
}

func (s *Server) saveOrLogLocked() {
	if err := s.saveLocked(); err != nil {
		s.log.Error("sandbox state not saved", "err", err)
	}
}

// AddZone makes a zone known, so route and custom-domain look-ups for it succeed. It returns
// the zone id (stable for a name).
func (s *Server) AddZone(name string) (string, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || strings.ContainsAny(name, "/ *") || !strings.Contains(name, ".") {
		return "", fmt.Errorf("zone name %q is not a domain such as example.com", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.w.Zones[name]; ok {
		return id, nil
	}
	id := randHex(16)
	s.w.Zones[name] = id
	return id, s.saveLocked()
}

// Mutation is an out-of-band change to a deployed Worker, as someone using the dashboard
// would make it; drift detection must notice these.
type Mutation struct {
	AccountID string `json:"account_id"`
	Script    string `json:"script"`
	// Op is one of:
	//   set_var          Name, Value: set a plain_text binding (new version, deployed 100%)
	//   remove_binding   Name: drop a binding (new version, deployed 100%)
	//   set_compat_date  Value: change the compatibility date (new version, deployed 100%)
	//   set_compat_flags Flags: replace the compatibility flags (new version, deployed 100%)
	//   delete_secret    Name: delete a secret (new version triggered_by "secret")
	//   set_secret       Name, Value: set a secret (new version triggered_by "secret")
	//   set_crons        Crons: replace the cron triggers
	//   set_workers_dev  Enabled: switch the script's workers.dev route
	Op      string   `json:"op"`
	Name    string   `json:"name,omitempty"`
	Value   string   `json:"value,omitempty"`
	Flags   []string `json:"flags,omitempty"`
	Crons   []string `json:"crons,omitempty"`
	Enabled *bool    `json:"enabled,omitempty"`
}

// Mutate applies m and persists the result.
func (s *Server) Mutate(m Mutation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	acct := s.w.Accounts[m.AccountID]
	if acct == nil {
		return fmt.Errorf("mutate: no account %q in the sandbox", m.AccountID)
	}
	sc := acct.Scripts[m.Script]
	if sc == nil {
		return fmt.Errorf("mutate: account %s has no Worker %q", m.AccountID, m.Script)
	}
	live := sc.liveVersion()
	if live == nil {
		return fmt.Errorf("mutate: the Worker %s has no version yet", m.Script)
	}
	redeploy := func(edit func(v *Version) error) error {
		next := live.clone()
		if err := edit(&next); err != nil {
			return err
		}
		v := s.derivedVersionLocked(sc, &next, "dash", "")
		s.deployLocked(sc, "dash", []DeploymentVersion{{VersionID: v.ID, Percentage: 100}}, nil)
		return nil
	}
	var err error
	switch m.Op {
	case "set_var":
		err = redeploy(func(v *Version) error {
			if m.Name == "" {
				return errors.New("mutate set_var: name is required")
			}
			b := Binding{"name": m.Name, "type": "plain_text", "text": m.Value}
			if i := slices.IndexFunc(v.Bindings, func(x Binding) bool { return x.Name() == m.Name }); i >= 0 {
				v.Bindings[i] = b
			} else {
				v.Bindings = append(v.Bindings, b)
			}
			return nil
		})
	case "remove_binding":
		err = redeploy(func(v *Version) error {
			i := slices.IndexFunc(v.Bindings, func(x Binding) bool { return x.Name() == m.Name })
			if i < 0 {
				return fmt.Errorf("mutate remove_binding: the live version of %s has no binding %q", m.Script, m.Name)
			}
			v.Bindings = slices.Delete(v.Bindings, i, i+1)
			return nil
		})
	case "set_compat_date":
		err = redeploy(func(v *Version) error {
			if _, perr := time.Parse("2006-01-02", m.Value); perr != nil {
				return fmt.Errorf("mutate set_compat_date: value %q is not a YYYY-MM-DD date", m.Value)
			}
			v.CompatibilityDate = m.Value
			return nil
		})
	case "set_compat_flags":
		err = redeploy(func(v *Version) error {
			v.CompatibilityFlags = append([]string{}, m.Flags...)
			return nil
		})
	case "delete_secret":
		if _, ok := sc.Secrets[m.Name]; !ok {
			return fmt.Errorf("mutate delete_secret: the Worker %s has no secret %q", m.Script, m.Name)
		}
		delete(sc.Secrets, m.Name)
		s.secretVersionLocked("dash", sc)
	case "set_secret":
		if m.Name == "" {
			return errors.New("mutate set_secret: name is required")
		}
		s.setSecretLocked(sc, m.Name, "secret_text", m.Value)
		s.secretVersionLocked("dash", sc)
	case "set_crons":
		s.setSchedulesLocked(sc, m.Crons)
	case "set_workers_dev":
		if m.Enabled == nil {
			return errors.New("mutate set_workers_dev: enabled is required")
		}
		sc.Subdomain.Enabled = *m.Enabled
	default:
		return fmt.Errorf("mutate: unknown op %q (set_var, remove_binding, set_compat_date, set_compat_flags, delete_secret, set_secret, set_crons, set_workers_dev)", m.Op)
	}
	if err != nil {
		return err
	}
	return s.saveLocked()
}

// Status is a summary of the sandbox for the control API and sandbox:status.
type Status struct {
	StartedAt string          `json:"started_at"`
	StatePath string          `json:"state_path,omitempty"`
	Requests  int             `json:"requests"`
	Faults    int             `json:"faults"`
	LatencyMs int64           `json:"latency_ms"`
	RateLimit RateLimitStatus `json:"rate_limit"`
	Unhealthy []string        `json:"unhealthy"`
	Zones     []string        `json:"zones"`
	Accounts  []AccountStatus `json:"accounts"`
	Edge      EdgeStatus      `json:"edge"`
}

// EdgeStatus is how the workers.dev edge answers and, for workerd, which versions run now
// (as "<account id>/<version id>").
type EdgeStatus struct {
	Mode    EdgeMode `json:"mode"`
	Running []string `json:"running"`
}

// RateLimitStatus is the current per-token limit.
type RateLimitStatus struct {
	Requests int   `json:"requests"`
	WindowMs int64 `json:"window_ms"`
}

// AccountStatus summarises one account; it never carries the token.
type AccountStatus struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Subdomain string         `json:"subdomain"`
	Requests  int            `json:"requests"`
	Scripts   []ScriptStatus `json:"scripts"`
}

// ScriptStatus summarises one Worker.
type ScriptStatus struct {
	Name        string              `json:"name"`
	Versions    int                 `json:"versions"`
	Deployments int                 `json:"deployments"`
	Live        []DeploymentVersion `json:"live"`
	// LatestVersion is the newest uploaded version, which may have no traffic yet (a version
	// upload before its rollout): a test or an operator can act on it, e.g. mark it unhealthy.
	LatestVersion string `json:"latest_version,omitempty"`
}

// Status summarises the sandbox.
func (s *Server) Status() Status {
	edge := EdgeStatus{Mode: EdgeFake, Running: []string{}}
	if s.edge != nil { // before s.mu: the edge never takes it, but keep the order one way
		edge = EdgeStatus{Mode: EdgeWorkerd, Running: append([]string{}, s.edge.running()...)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{
		Edge:      edge,
		StartedAt: s.startedAt.UTC().Format(time.RFC3339),
		StatePath: s.opts.StatePath,
		Requests:  s.total,
		Faults:    len(s.faults),
		LatencyMs: s.latency.Milliseconds(),
		RateLimit: RateLimitStatus{Requests: s.limit.Requests, WindowMs: s.limit.Window.Milliseconds()},
		Unhealthy: append([]string{}, s.w.Unhealthy...),
		Zones:     sortedKeys(s.w.Zones),
		Accounts:  []AccountStatus{},
	}
	for _, id := range sortedKeys(s.w.Accounts) {
		a := s.w.Accounts[id]
		as := AccountStatus{ID: a.ID, Name: a.Name, Subdomain: a.Subdomain, Requests: s.requests[a.Token], Scripts: []ScriptStatus{}}
		for _, name := range sortedKeys(a.Scripts) {
			sc := a.Scripts[name]
			ss := ScriptStatus{Name: name, Versions: len(sc.Versions), Deployments: len(sc.Deployments), Live: []DeploymentVersion{}}
			if d := sc.live(); d != nil {
				ss.Live = slices.Clone(d.Versions)
			}
			if len(sc.Versions) > 0 {
				ss.LatestVersion = sc.Versions[0].ID
			}
			as.Scripts = append(as.Scripts, ss)
		}
		st.Accounts = append(st.Accounts, as)
	}
	return st
}
