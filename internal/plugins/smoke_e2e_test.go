package plugins_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/devserver"
	"github.com/rainbowsmoke/crispy-enigma/internal/plugins"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// TestSmokePluginAgainstTheRealWorker runs the shipped smoke test against the Worker's real code
// under wrangler dev (Miniflare): /status and the counter round trip pass; told the wrong env it
// fails. Against an edge that answers /health's JSON for every path (today's sandbox edge) it
// skips only in a rehearsal (DEPLOY_SANDBOX=1) and fails anywhere else.
func TestSmokePluginAgainstTheRealWorker(t *testing.T) {
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo)
	ws := testrepo.Copy(t, repo, testrepo.Options{Code: true})
	runner := plugins.Runner{Root: ws.Root, Timeout: time.Minute}
	smoke := func(t *testing.T, r plugins.Runner, f plugins.Facts) (string, error) {
		t.Helper()
		log := filepath.Join(t.TempDir(), "plugins.log")
		_, err := r.Run(context.Background(), plugins.PostDeploy, f, log, true)
		b, _ := os.ReadFile(log)
		return string(b), err
	}

	t.Run("real Worker", func(t *testing.T) {
		srv, _, err := devserver.Start(context.Background(), devserver.Options{Workspace: ws, Tenant: "mrrainbowsmoke", Port: testrepo.FreePort(t), Deadline: 90 * time.Second})
		t.Cleanup(func() { _, _ = devserver.Stop(context.Background(), ws, "all") })
		if err != nil {
			t.Fatal(err)
		}
		facts := plugins.Facts{Tenant: "mrrainbowsmoke", Env: "dev", URL: srv.URL}
		log, err := smoke(t, runner, facts)
		if err != nil || !strings.Contains(log, "GET /status ok") || !strings.Contains(log, "round trip ok (0 -> 2)") {
			t.Fatalf("err %v\n%s", err, log)
		}
		facts.Env = "staging"
		if log, err := smoke(t, runner, facts); err == nil || !strings.Contains(log, "not mrrainbowsmoke/staging") {
			t.Errorf("told the wrong env, the smoke test passed: %v\n%s", err, log)
		}
	})

	t.Run("health JSON for every path", func(t *testing.T) {
		edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"status":"ok","tenant":"mrrainbowsmoke","env":"staging","version_id":"v1"}`)
		}))
		defer edge.Close()
		u, _ := url.Parse(edge.URL)
		facts := plugins.Facts{Tenant: "mrrainbowsmoke", Env: "staging", URL: "https://mrrainbowsmoke-api-staging.mrrainbowsmoke.workers.dev"}
		sandbox := runner
		sandbox.Connect = u.Host
		if log, err := smoke(t, sandbox, facts); err != nil || !strings.Contains(log, "skipped: the sandbox edge") {
			t.Errorf("in a rehearsal: %v\n%s", err, log)
		}
		facts.URL = edge.URL
		if log, err := smoke(t, runner, facts); err == nil {
			t.Errorf("outside a rehearsal the fake answer passed:\n%s", log)
		}
	})
}
