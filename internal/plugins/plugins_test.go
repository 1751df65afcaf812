package plugins_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/plugins"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspacecopy"
)

const canary = "canary-token-7f3a9c"

func script(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestFindRunsProjectPluginsFirstInNameOrder(t *testing.T) {
	root := t.TempDir()
	script(t, filepath.Join(root, "plugins", "pre-deploy", "20-b"), "true")
	script(t, filepath.Join(root, "plugins", "pre-deploy", "10-a"), "true")
	script(t, filepath.Join(root, "tenants", "acme", "plugins", "pre-deploy", "05-t"), "true")
	script(t, filepath.Join(root, "tenants", "other", "plugins", "pre-deploy", "01-x"), "true")
	if err := os.WriteFile(filepath.Join(root, "plugins", "pre-deploy", "README.md"), []byte("notes"), 0o644); err != nil {
		t.Fatal(err)
	}
	script(t, filepath.Join(root, "plugins", "pre-deploy", ".hidden"), "true")
	got, err := plugins.Find(root, "acme", plugins.PreDeploy)
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, p := range got {
		r, _ := filepath.Rel(root, p)
		rel = append(rel, filepath.ToSlash(r))
	}
	want := []string{"plugins/pre-deploy/10-a", "plugins/pre-deploy/20-b", "tenants/acme/plugins/pre-deploy/05-t"}
	if !slices.Equal(rel, want) {
		t.Errorf("Find = %v, want %v", rel, want)
	}
	script(t, filepath.Join(root, "plugins", "post-deploy", "20-ok"), "true")
	if err := os.WriteFile(filepath.Join(root, "plugins", "post-deploy", "10-forgot-chmod"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := plugins.Find(root, "acme", plugins.PostDeploy); err == nil || !strings.Contains(err.Error(), "chmod +x") {
		t.Errorf("a plugin that is not executable: err %v", err)
	}
}

// TestRunTellsFactsNotSecrets: a plugin sees the DEPLOY_* facts and the allowed names, never a
// token (the process has one, and .env.deploy another), and its output lands in the log.
func TestRunTellsFactsNotSecrets(t *testing.T) {
	root := t.TempDir()
	dump := filepath.Join(t.TempDir(), "env.txt")
	script(t, filepath.Join(root, "plugins", "post-deploy", "10-dump"), "env > "+dump+"; echo hello from the plugin; pwd")
	if err := os.WriteFile(filepath.Join(root, ".env.deploy"), []byte("CLOUDFLARE_API_TOKEN_ACME="+canary+"-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := plugins.Runner{Root: root, Connect: "127.0.0.1:9", Environ: func() []string {
		return []string{"PATH=" + os.Getenv("PATH"), "CLOUDFLARE_API_TOKEN_ACME=" + canary, "GITHUB_TOKEN=" + canary,
			"PLUGIN_API_TOKEN=" + canary, "PLUGIN_CHANNEL=ops", "DEPLOY_WEBHOOK_URL=http://hook"}
	}}
	log := filepath.Join(t.TempDir(), "plugins.log")
	runs, err := r.Run(context.Background(), plugins.PostDeploy, plugins.Facts{Tenant: "acme", Env: "staging", WorkerName: "acme-api-staging",
		URL: "https://acme-api-staging.acme.workers.dev", VersionID: "v2", PreviousVersionID: "v1", Status: "verifying",
		VersionOverride: `acme-api-staging="v2"`}, log, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Name != "plugins/post-deploy/10-dump" || runs[0].Exit != 0 || runs[0].Event != "post-deploy" {
		t.Errorf("runs = %+v", runs)
	}
	env, _ := os.ReadFile(dump)
	for _, want := range []string{"DEPLOY_TENANT=acme", "DEPLOY_ENV=staging", "DEPLOY_WORKER=acme-api-staging", "DEPLOY_VERSION_ID=v2",
		"DEPLOY_PREVIOUS_VERSION_ID=v1", "DEPLOY_URL=https://acme-api-staging.acme.workers.dev", "DEPLOY_CONNECT=127.0.0.1:9",
		"DEPLOY_SANDBOX=1", "PLUGIN_CHANNEL=ops", "DEPLOY_WEBHOOK_URL=http://hook", "DEPLOY_EVENT=post-deploy",
		`DEPLOY_VERSION_OVERRIDE=acme-api-staging="v2"`} {
		if !strings.Contains(string(env), want+"\n") {
			t.Errorf("the plugin's environment lacks %s:\n%s", want, env)
		}
	}
	if strings.Contains(string(env), canary) {
		t.Errorf("a token reached the plugin:\n%s", env)
	}
	out, _ := os.ReadFile(log)
	if !strings.Contains(string(out), "hello from the plugin") || !strings.Contains(string(out), root) {
		t.Errorf("the log lacks the plugin's output or its working directory:\n%s", out)
	}
}

func TestRunStopsAtTheFirstFailureAndTimesOut(t *testing.T) {
	root := t.TempDir()
	script(t, filepath.Join(root, "plugins", "pre-deploy", "10-no"), "echo refusing >&2; exit 3")
	script(t, filepath.Join(root, "plugins", "pre-deploy", "20-never"), "touch "+filepath.Join(root, "ran"))
	log := filepath.Join(root, "log")
	runs, err := plugins.Runner{Root: root}.Run(context.Background(), plugins.PreDeploy, plugins.Facts{Tenant: "acme"}, log, true)
	if err == nil || !strings.Contains(err.Error(), "plugins/pre-deploy/10-no") || len(runs) != 1 || runs[0].Exit != 3 {
		t.Fatalf("runs %+v, err %v", runs, err)
	}
	if _, err := os.Stat(filepath.Join(root, "ran")); err == nil {
		t.Error("a plugin after the failing one ran")
	}

	script(t, filepath.Join(root, "plugins", "notify", "10-slow"), "sleep 30")
	start := time.Now()
	runs, err = plugins.Runner{Root: root, Timeout: 300 * time.Millisecond}.Run(context.Background(), plugins.Notify, plugins.Facts{Tenant: "acme"}, log, false)
	if err == nil || !strings.Contains(err.Error(), "timed out") || len(runs) != 1 {
		t.Fatalf("runs %+v, err %v", runs, err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("the timeout took %s", time.Since(start))
	}
}

// TestWebhookNotifierPostsWithoutTokens runs the shipped notify plugin against a local
// receiver: one Slack/Discord-shaped JSON message with the facts, and no token anywhere in
// what was sent; without DEPLOY_WEBHOOK_URL it posts nothing and succeeds.
func TestWebhookNotifierPostsWithoutTokens(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node is required in CI: %v", err)
		}
		t.Skipf("node is not on PATH: %v", err)
	}
	repo := testrepo.Repo(t)
	root := t.TempDir()
	if err := workspacecopy.Tree(filepath.Join(repo.Root, "plugins", "notify"), filepath.Join(root, "plugins", "notify")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.Header.Get("Content-Type")+" "+r.URL.String()+"\n"+string(b))
		mu.Unlock()
	}))
	defer srv.Close()
	facts := plugins.Facts{Tenant: "acme", Env: "production", URL: "https://acme-api.acme.workers.dev", VersionID: "v2", PreviousVersionID: "v1", Status: "succeeded"}
	environ := func(hook string) func() []string {
		return func() []string {
			return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "CLOUDFLARE_API_TOKEN_ACME=" + canary, "DEPLOY_WEBHOOK_URL=" + hook}
		}
	}
	log := filepath.Join(root, "log")
	if _, err := (plugins.Runner{Root: root, Environ: environ(srv.URL + "/hook")}).Run(context.Background(), plugins.Notify, facts, log, false); err != nil {
		b, _ := os.ReadFile(log)
		t.Fatalf("%v\n%s", err, b)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("the receiver got %d requests: %v", len(got), got)
	}
	head, body, _ := strings.Cut(got[0], "\n")
	if head != "POST application/json /hook" {
		t.Errorf("request %q", head)
	}
	var msg struct{ Text, Content string }
	if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.Text == "" || msg.Text != msg.Content {
		t.Fatalf("body %s: %v", body, err)
	}
	for _, want := range []string{"acme/production", "succeeded", "v2", "was v1"} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("message %q lacks %q", msg.Text, want)
		}
	}
	if strings.Contains(got[0], canary) {
		t.Errorf("a token was sent: %s", got[0])
	}

	got = nil
	mu.Unlock()
	_, err := (plugins.Runner{Root: root, Environ: environ("")}).Run(context.Background(), plugins.Notify, facts, log, false)
	mu.Lock()
	if err != nil || len(got) != 0 {
		t.Errorf("without DEPLOY_WEBHOOK_URL: err %v, %d requests", err, len(got))
	}
}
