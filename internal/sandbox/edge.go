package sandbox

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"
)

// healthJSON is what the Worker's /health answers; the edge answers the same for any path.
type healthJSON struct {
	Status    string `json:"status"`
	Tenant    string `json:"tenant,omitempty"`
	Env       string `json:"env,omitempty"`
	VersionID string `json:"version_id,omitempty"`
	Error     string `json:"error,omitempty"`
}

// serveEdge answers <script>.<subdomain>.workers.dev as the deployed Worker would: the
// version is picked by the current deployment's percentages, TENANT_ID and ENVIRONMENT come
// from that version's plain_text bindings.
func (s *Server) serveEdge(w http.ResponseWriter, r *http.Request, host string) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	defer func() { s.logRequest(r, rec.status, time.Since(start), false) }()

	status, body := s.edgeAnswer(host)
	writeJSON(rec, status, body)
}

func (s *Server) edgeAnswer(host string) (int, healthJSON) {
	labels := strings.Split(strings.TrimSuffix(host, ".workers.dev"), ".")
	if len(labels) != 2 {
		return http.StatusNotFound, healthJSON{Status: "error", Error: "no Worker at " + host + " (expected <script>.<subdomain>.workers.dev)"}
	}
	script, sub := labels[0], labels[1]
	s.mu.Lock()
	defer s.mu.Unlock()
	var acct *accountState
	for _, a := range s.w.Accounts {
		if strings.EqualFold(a.Subdomain, sub) {
			acct = a
		}
	}
	if acct == nil {
		return http.StatusNotFound, healthJSON{Status: "error", Error: "no account has the workers.dev subdomain " + sub}
	}
	sc := acct.Scripts[script]
	if sc == nil {
		if prefix, name, ok := strings.Cut(script, "-"); ok && len(prefix) == 8 && acct.Scripts[name] != nil {
			return s.previewAnswerLocked(acct.Scripts[name], prefix)
		}
	}
	switch {
	case sc == nil:
		return http.StatusNotFound, healthJSON{Status: "error", Error: "no Worker named " + script + " in account " + acct.ID}
	case !sc.Subdomain.Enabled:
		return http.StatusNotFound, healthJSON{Status: "error", Error: "workers.dev is not enabled for " + script}
	case sc.live() == nil:
		return http.StatusNotFound, healthJSON{Status: "error", Error: "the Worker " + script + " has no deployment"}
	}
	v := pickVersion(sc, sc.live())
	if v == nil {
		return http.StatusInternalServerError, healthJSON{Status: "error", Error: "the current deployment names no existing version"}
	}
	return s.versionAnswerLocked(v)
}

// previewAnswerLocked serves a version preview URL, <first 8 chars of the id>-<script>: that
// version answers whether or not it is deployed, if the script has previews enabled.
func (s *Server) previewAnswerLocked(sc *scriptState, prefix string) (int, healthJSON) {
	if !sc.Subdomain.PreviewsEnabled {
		return http.StatusNotFound, healthJSON{Status: "error", Error: "preview URLs are not enabled for " + sc.Name}
	}
	for _, v := range sc.Versions {
		if strings.HasPrefix(v.ID, prefix) {
			return s.versionAnswerLocked(v)
		}
	}
	return http.StatusNotFound, healthJSON{Status: "error", Error: "no version of " + sc.Name + " starts with " + prefix}
}

func (s *Server) versionAnswerLocked(v *Version) (int, healthJSON) {
	h := healthJSON{Status: "ok", VersionID: v.ID}
	for _, b := range v.Bindings {
		if b.Type() != "plain_text" {
			continue
		}
		text, _ := b["text"].(string)
		switch b.Name() {
		case "TENANT_ID":
			h.Tenant = text
		case "ENVIRONMENT":
			h.Env = text
		}
	}
	if slices.Contains(s.w.Unhealthy, v.ID) {
		h.Status, h.Error = "error", "version marked unhealthy in the sandbox"
		return http.StatusServiceUnavailable, h
	}
	return http.StatusOK, h
}

// pickVersion draws a version with the deployment's percentages as weights.
func pickVersion(sc *scriptState, d *Deployment) *Version {
	x := rand.Float64() * 100
	var last *Version
	for _, dv := range d.Versions {
		v := sc.version(dv.VersionID)
		if v == nil || dv.Percentage <= 0 {
			continue
		}
		last = v
		if x < dv.Percentage {
			return v
		}
		x -= dv.Percentage
	}
	return last
}
