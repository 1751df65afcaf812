package probe_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/probe"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// edge answers like the Worker's /health for the tenant named in the host, healthy or not.
func edge(t *testing.T, healthy map[string]bool) *http.Client {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		worker, _, _ := strings.Cut(r.Host, ".")
		for name, ok := range healthy {
			if strings.HasPrefix(worker, name+"-") {
				if !ok {
					w.WriteHeader(503)
					fmt.Fprint(w, `{"status":"degraded"}`)
					return
				}
				fmt.Fprintf(w, `{"status":"ok","tenant":%q,"env":"staging","version_id":"v-%s"}`, name, name)
				return
			}
		}
		w.WriteHeader(404)
	}))
	t.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL)
	return &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Host = r.URL.Host
		r.URL.Scheme, r.URL.Host = "http", target.Host
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestHealthSaysWhichVersionAnswered(t *testing.T) {
	probe.Deadline = 300 * time.Millisecond
	ws := testrepo.Copy(t, testrepo.Repo(t), testrepo.Options{})
	client := edge(t, map[string]bool{"mrrainbowsmoke": true, "rainbowsmokeofficial": false})
	rs, err := probe.Health(context.Background(), ws, nil, "all", "staging", client, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || probe.Unhealthy(rs) != 1 {
		t.Fatalf("results %+v", rs)
	}
	for _, r := range rs {
		switch r.Tenant {
		case "mrrainbowsmoke":
			if !r.Healthy || r.VersionID != "v-mrrainbowsmoke" || !strings.Contains(r.Line(), "healthy, version v-mrrainbowsmoke") {
				t.Errorf("healthy tenant: %+v", r)
			}
		case "rainbowsmokeofficial":
			if r.Healthy || r.StatusCode != 503 || !strings.Contains(r.Line(), "NOT healthy") {
				t.Errorf("unhealthy tenant: %+v", r)
			}
		}
	}
}

func TestHealthRefusesBadArguments(t *testing.T) {
	ws := testrepo.Copy(t, testrepo.Repo(t), testrepo.Options{})
	for _, args := range [][2]string{{"../x", "staging"}, {"mrrainbowsmoke", "qa"}, {"nosuch", "staging"}} {
		env, err := tenant.ParseEnv(args[1]) // as the health target does, before probe.Health
		if err == nil {
			_, err = probe.Health(context.Background(), ws, nil, args[0], env, http.DefaultClient, nil)
		}
		if err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
