package deploy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// newRealEdgeWorld is newWorld with the sandbox's workerd edge: workers.dev runs the code
// wrangler uploaded, so the health gate checks the real Worker.
func newRealEdgeWorld(t *testing.T) *world {
	t.Helper()
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo)
	return newWorldWithEdge(t, sandbox.EdgeOptions{Mode: sandbox.EdgeWorkerd, NodeModules: filepath.Join(repo.Root, "node_modules"), Dir: t.TempDir()})
}

func (w *world) edgeGet(t *testing.T, host, path string) (int, string) {
	t.Helper()
	resp, err := w.client.Get("https://" + host + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A change whose module throws at start-up deploys, fails the health gate (the edge answers
// Cloudflare's 1101 error page), is rolled back automatically and ends rolled_back, with the
// previous version serving its real code again.
func TestDeployOfAWorkerThatThrowsAtStartUpIsRolledBack(t *testing.T) {
	w := newRealEdgeWorld(t)
	ctx := context.Background()
	const tn, worker = "mrrainbowsmoke", "mrrainbowsmoke-api-staging"
	host := worker + ".mrrainbowsmoke.workers.dev"
	var progress bytes.Buffer

	out, err := Run(ctx, w.opts(t, tn, "staging", &progress))
	if err != nil || out.Record.Status != history.StatusSucceeded {
		t.Fatalf("first deploy: %v %s\n%s", err, out.Record.Status, progress.String())
	}
	w.setSecrets(t, tn, worker) // the next deploy's preflight requires them
	good := w.live(t, tn, worker)
	if st, body := w.edgeGet(t, host, "/status"); st != 200 || !strings.Contains(body, `"features":["vector_search","ai_chat"]`) || !strings.Contains(body, `"last_cron":null`) {
		t.Fatalf("/status of the real Worker = %d %s", st, body)
	}
	if st, body := w.edgeGet(t, host, "/no-such-path"); st != 404 || !strings.Contains(body, `"error":"not_found"`) {
		t.Fatalf("unknown path = %d %s, want the Worker's own 404 JSON", st, body)
	}

	p := filepath.Join(w.ws.WorkerDir(), "src", "index.ts")
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	boom := "\nif ((globalThis as { sandboxBoom?: boolean }).sandboxBoom !== false) throw new Error(\"boom at start-up\");\n"
	if err := os.WriteFile(p, append(src, boom...), 0o644); err != nil {
		t.Fatal(err)
	}
	progress.Reset()
	out, err = Run(ctx, w.opts(t, tn, "staging", &progress))
	if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusRolledBack {
		t.Fatalf("throwing deploy: err %v status %s (%s)\n%s", err, out.Record.Status, out.Record.Error, progress.String())
	}
	bad := out.Record.VersionID
	if bad == "" || bad == good || out.Record.Health == nil || out.Record.Health.OK || out.Record.Health.StatusCode != http.StatusInternalServerError {
		t.Fatalf("record: version %s (good %s), health %+v", bad, good, out.Record.Health)
	}
	if got := w.live(t, tn, worker); got != good {
		t.Fatalf("after the rollback %s is live, want %s", got, good)
	}
	st, body := w.edgeGet(t, host, "/health")
	if st != 200 || !strings.Contains(body, `"version_id":"`+good+`"`) || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("after the rollback /health = %d %s", st, body)
	}
}
