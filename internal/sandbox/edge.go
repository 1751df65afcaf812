package sandbox

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EdgeMode says how the workers.dev edge answers.
type EdgeMode string

const (
	// EdgeFake answers every path with a health document made from the version's bindings,
	// without running any code: cheap enough for fleet-scale tests and benchmarks.
	EdgeFake EdgeMode = "fake"
	// EdgeWorkerd runs the version's uploaded modules in workerd (through Miniflare from the
	// pinned node_modules) and proxies the request to it.
	EdgeWorkerd EdgeMode = "workerd"
)

// ParseEdgeMode reads a -edge flag value.
func ParseEdgeMode(s string) (EdgeMode, error) {
	switch m := EdgeMode(strings.ToLower(strings.TrimSpace(s))); m {
	case EdgeFake, EdgeWorkerd:
		return m, nil
	case "real":
		return EdgeWorkerd, nil
	}
	return "", fmt.Errorf("edge mode %q is unknown; use workerd (run the uploaded code) or fake (a health answer, no code)", s)
}

// EdgeOptions configure the workers.dev edge.
type EdgeOptions struct {
	// Mode is EdgeFake when empty: in-process tests pay for workerd only when they ask.
	Mode EdgeMode
	// NodeModules is the node_modules folder holding miniflare and workerd (wrangler's own
	// dependencies); required for EdgeWorkerd.
	NodeModules string
	// Dir holds the runtimes' KV and Durable Object storage, per account and script, and the
	// supervisor script; "" means a temporary folder removed by Close.
	Dir string
	// MaxRunning caps the versions running at once; the least recently used idle one is
	// stopped to make room. 0 means 8.
	MaxRunning int
	// IdleTimeout stops a version that served nothing for that long. 0 means 5 minutes.
	IdleTimeout time.Duration
	// StartTimeout bounds one version's start. 0 means 60 seconds.
	StartTimeout time.Duration
}

// healthJSON is what the Worker's /health answers; the fake edge answers it for any path, and
// both edges use it for their own errors (no such Worker, version marked unhealthy).
type healthJSON struct {
	Status    string `json:"status"`
	Tenant    string `json:"tenant,omitempty"`
	Env       string `json:"env,omitempty"`
	VersionID string `json:"version_id,omitempty"`
	Error     string `json:"error,omitempty"`
}

// overrideHeader pins a version of the current deployment, as on Cloudflare.
const overrideHeader = "Cloudflare-Workers-Version-Overrides"

// edgeTarget is what a workers.dev request resolves to: an error answer of the edge itself,
// or one version of one script with what running it needs.
type edgeTarget struct {
	status int // non-zero: the edge answers this with errMsg, no version is involved
	errMsg string

	account   string
	subdomain string
	script    *scriptState
	version   *Version
	unhealthy bool
	secrets   map[string]string // name -> value, as the version sees them
}

// serveEdge answers <script>.<subdomain>.workers.dev (and version preview hosts).
func (s *Server) serveEdge(w http.ResponseWriter, r *http.Request, host string) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	defer func() { s.logRequest(r, rec.status, time.Since(start), false) }()

	t := s.resolveEdge(host, r.Header.Get(overrideHeader))
	if s.edge == nil || t.status != 0 || t.unhealthy {
		status, body := fakeAnswer(t)
		writeJSON(rec, status, body)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/cdn-cgi/") {
		// Miniflare's trigger endpoints live there; Cloudflare keeps /cdn-cgi/ to itself.
		writeJSON(rec, http.StatusNotFound, healthJSON{Status: "error", Error: "/cdn-cgi/ is not served to Workers; fire a cron with POST /__sandbox/scheduled"})
		return
	}
	s.edge.serve(rec, r, t)
}

// edgeAnswer is the fake edge's answer for host, without a request (tests).
func (s *Server) edgeAnswer(host string) (int, healthJSON) {
	return fakeAnswer(s.resolveEdge(host, ""))
}

func (s *Server) resolveEdge(host, overrides string) edgeTarget {
	labels := strings.Split(strings.TrimSuffix(host, ".workers.dev"), ".")
	if len(labels) != 2 {
		return edgeErr(http.StatusNotFound, "no Worker at "+host+" (expected <script>.<subdomain>.workers.dev)")
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
		return edgeErr(http.StatusNotFound, "no account has the workers.dev subdomain "+sub)
	}
	sc := acct.Scripts[script]
	if sc == nil {
		if prefix, name, ok := strings.Cut(script, "-"); ok && len(prefix) == 8 && acct.Scripts[name] != nil {
			return s.previewTargetLocked(acct, acct.Scripts[name], prefix)
		}
	}
	switch {
	case sc == nil:
		return edgeErr(http.StatusNotFound, "no Worker named "+script+" in account "+acct.ID)
	case !sc.Subdomain.Enabled:
		return edgeErr(http.StatusNotFound, "workers.dev is not enabled for "+script)
	case sc.live() == nil:
		return edgeErr(http.StatusNotFound, "the Worker "+script+" has no deployment")
	}
	v := overriddenVersion(sc, sc.live(), overrides)
	if v == nil {
		v = pickVersion(sc, sc.live())
	}
	if v == nil {
		return edgeErr(http.StatusInternalServerError, "the current deployment names no existing version")
	}
	return s.versionTargetLocked(acct, sc, v)
}

func edgeErr(status int, msg string) edgeTarget { return edgeTarget{status: status, errMsg: msg} }

// previewTargetLocked serves a version preview URL, <first 8 chars of the id>-<script>: that
// version answers whether or not it is deployed, if the script has previews enabled.
// Cloudflare gives no preview URLs to Workers that implement Durable Objects.
func (s *Server) previewTargetLocked(acct *accountState, sc *scriptState, prefix string) edgeTarget {
	if !sc.Subdomain.PreviewsEnabled {
		return edgeErr(http.StatusNotFound, "preview URLs are not enabled for "+sc.Name)
	}
	for _, v := range sc.Versions {
		if strings.HasPrefix(v.ID, prefix) {
			if implementsDurableObjects(sc, v) {
				return edgeErr(http.StatusNotFound, "the Worker "+sc.Name+" implements Durable Objects, which get no preview URLs; use the "+overrideHeader+" header")
			}
			return s.versionTargetLocked(acct, sc, v)
		}
	}
	return edgeErr(http.StatusNotFound, "no version of "+sc.Name+" starts with "+prefix)
}

// implementsDurableObjects: the version binds a Durable Object class of its own script.
func implementsDurableObjects(sc *scriptState, v *Version) bool {
	return slices.ContainsFunc(v.Bindings, func(b Binding) bool {
		other, _ := b["script_name"].(string)
		return b.Type() == "durable_object_namespace" && (other == "" || other == sc.Name)
	})
}

func (s *Server) versionTargetLocked(acct *accountState, sc *scriptState, v *Version) edgeTarget {
	t := edgeTarget{account: acct.ID, subdomain: acct.Subdomain, script: sc, version: v, unhealthy: slices.Contains(s.w.Unhealthy, v.ID)}
	if s.edge != nil && len(v.SecretDigests) > 0 {
		t.secrets = make(map[string]string, len(v.SecretDigests))
		for name, d := range v.SecretDigests {
			if val, ok := sc.SecretValues[d]; ok {
				t.secrets[name] = val
			}
		}
	}
	return t
}

// overriddenVersion reads Cloudflare-Workers-Version-Overrides, an RFC 8941 dictionary
// (script="version-id", ...). Only a version of the current deployment, 0% included, can be
// pinned; anything else falls back to the percentages, silently, as on Cloudflare.
func overriddenVersion(sc *scriptState, d *Deployment, header string) *Version {
	if header == "" {
		return nil
	}
	for item := range strings.SplitSeq(header, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || strings.TrimSpace(key) != sc.Name {
			continue
		}
		id, err := strconv.Unquote(strings.TrimSpace(val))
		if err != nil || !strings.HasPrefix(strings.TrimSpace(val), `"`) {
			return nil
		}
		if slices.ContainsFunc(d.Versions, func(dv DeploymentVersion) bool { return dv.VersionID == id }) {
			return sc.version(id)
		}
		return nil
	}
	return nil
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
