package secrets_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/preflight"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxhost"
	"github.com/rainbowsmoke/crispy-enigma/internal/secrets"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

const (
	tenantA  = "mrrainbowsmoke"
	accountA = "4f1c2b7e9a0d43c8b6e5f70192a3b4c5"
	workerA  = "mrrainbowsmoke-api-staging"
)

type world struct {
	ws             workspace.Workspace
	sb             *sandbox.Server
	srv            *httptest.Server
	stdout, stderr bytes.Buffer
	logs           bytes.Buffer
	access         preflight.Access
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{ws: testrepo.Copy(t, testrepo.Repo(t), testrepo.Options{})}
	accts, err := sandboxhost.Accounts(w.ws)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(w.ws.StateDir(), "sandbox", "state.json")
	w.sb, err = sandbox.New(sandbox.Options{Accounts: accts, StatePath: state})
	if err != nil {
		t.Fatal(err)
	}
	w.srv = httptest.NewServer(w.sb.Handler())
	t.Cleanup(w.srv.Close)
	ep := sandboxctl.SandboxEndpoint(w.srv.URL, state, w.sb.Tokens())
	log := slog.New(slog.NewTextHandler(&w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w.access = preflight.Access{Workspace: w.ws, APIBaseURL: ep.APIBaseURL, HTTPClient: ep.HTTPClient, Sandbox: ep.SandboxTokens(), Log: log}
	return w
}

func (w *world) opts() secrets.Options {
	a := w.access
	return secrets.Options{Workspace: w.ws, Log: a.Log, Access: &a, Stderr: &w.stderr,
		Lookup: func(string) (string, bool) { return "", false }}
}

// put, sync and list run the commands and render what they return into w.stdout as the
// targets do, so that the canary checks see every byte an operator would.
func (w *world) put(t *testing.T, name, value string, asJSON bool) (secrets.Outcome, error) {
	t.Helper()
	out, err := secrets.PutCommand(context.Background(), w.opts(), tenantA, "staging", name, strings.NewReader(value), false)
	if err == nil {
		err = out.Write(&w.stdout, asJSON)
	}
	return out, err
}

func (w *world) sync(t *testing.T, file string, asJSON bool) (secrets.Outcome, error) {
	t.Helper()
	out, err := secrets.SyncCommand(context.Background(), w.opts(), tenantA, "staging", file, false)
	if err == nil {
		err = out.Write(&w.stdout, asJSON)
	}
	return out, err
}

func (w *world) list(t *testing.T, asJSON bool) ([]secrets.Listing, bool, error) {
	t.Helper()
	ls, err := secrets.ListCommand(context.Background(), w.opts(), tenantA, "staging")
	if err == nil {
		err = secrets.WriteList(&w.stdout, ls, asJSON, false)
	}
	return ls, secrets.AllOK(ls), err
}

// deployWorker creates tenant A's staging Worker as a first deploy would.
func (w *world) deployWorker(t *testing.T) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	meta, _ := json.Marshal(map[string]any{"main_module": "index.js", "compatibility_date": "2026-01-20", "bindings": []any{}})
	_ = mw.WriteField("metadata", string(meta))
	pw, _ := mw.CreatePart(map[string][]string{
		"Content-Disposition": {`form-data; name="index.js"; filename="index.js"`},
		"Content-Type":        {"application/javascript+module"},
	})
	_, _ = pw.Write([]byte("export default { fetch() { return new Response('ok') } };\n"))
	_ = mw.Close()
	req, _ := http.NewRequest("PUT", w.srv.URL+"/client/v4/accounts/"+accountA+"/workers/scripts/"+workerA, &buf)
	req.Header.Set("Authorization", "Bearer "+w.sb.Token(accountA))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("upload: %d", res.StatusCode)
	}
}

func (w *world) records(t *testing.T) []history.Entry {
	t.Helper()
	es, err := history.Open(w.ws.DeploymentsDir()).List(tenantA, "staging")
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestSecretValueNeverLeaks is the canary: a recognisable value put and synced appears in
// no output, log, record, nor any file under the workspace but the sandbox's state file
// (whose edge runs the Worker with its secrets, so it keeps them).
func TestSecretValueNeverLeaks(t *testing.T) {
	const canary = "CANARY-secret-value-7d3f9a1c"
	const canary2 = "CANARY-secret-value-2b8e4c6d"
	w := newWorld(t)
	ctx := context.Background()

	// Before the Worker exists: refused, nothing recorded, no draft Worker created.
	_, err := secrets.PutCommand(ctx, w.opts(), tenantA, "staging", "AI_GATEWAY_TOKEN", strings.NewReader(canary), false)
	if !errors.Is(err, secrets.ErrNoWorker) || len(w.records(t)) != 0 || len(w.sb.Status().Accounts[0].Scripts) != 0 {
		t.Fatalf("put before deploy: %v, %d records", err, len(w.records(t)))
	}

	w.deployWorker(t)
	out, err := w.put(t, "AI_GATEWAY_TOKEN", canary+"\n", false)
	if err != nil {
		t.Fatal(err)
	}
	if !out.NewVersion || out.VersionID == out.PreviousVersionID || !strings.Contains(w.stdout.String(), "created and deployed a new version") {
		t.Fatalf("put outcome %+v, output %s", out, w.stdout.String())
	}
	// The name is set, and the one not put yet is still missing.
	l, ok, err := w.list(t, true)
	if err != nil || ok || len(l) != 1 || strings.Join(l[0].Missing, ",") != "WEBHOOK_SIGNING_KEY" {
		t.Fatalf("list after one put: %+v ok=%v %v", l, ok, err)
	}

	file := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(file, []byte(`{"AI_GATEWAY_TOKEN":"`+canary2+`","WEBHOOK_SIGNING_KEY":"`+canary+`x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = w.sync(t, file, true)
	if err != nil || strings.Join(out.Changed, ",") != "AI_GATEWAY_TOKEN,WEBHOOK_SIGNING_KEY" {
		t.Fatalf("sync: %+v %v", out, err)
	}
	if _, ok, err := w.list(t, false); err != nil || !ok {
		t.Fatalf("list after sync: ok=%v %v\n%s", ok, err, w.stdout.String())
	}

	es := w.records(t)
	if len(es) != 2 {
		t.Fatalf("records = %d, want 2", len(es))
	}
	for _, e := range es {
		if e.Record.Kind != history.KindSecrets || e.Record.Status != history.StatusSucceeded || len(e.Record.SecretsChanged) == 0 || e.Record.VersionID == "" {
			t.Errorf("record %+v", e.Record)
		}
	}
	if probs, err := history.Verify(w.ws.DeploymentsDir()); err != nil || len(probs) != 0 {
		t.Fatalf("records do not verify: %v %v", probs, err)
	}

	for _, v := range []string{canary, canary2} {
		for name, text := range map[string]string{"stdout": w.stdout.String(), "stderr": w.stderr.String(), "logs": w.logs.String()} {
			if strings.Contains(text, v) {
				t.Errorf("%s shows the secret value", name)
			}
		}
	}
	state := filepath.Join(w.ws.StateDir(), "sandbox", "state.json")
	err = filepath.WalkDir(w.ws.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == state || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		if strings.Contains(p, string(filepath.Separator)+"node_modules"+string(filepath.Separator)) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(canary)) || bytes.Contains(b, []byte(canary2)) {
			t.Errorf("%s holds a secret value", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRefusals(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.deployWorker(t)
	cases := []struct {
		name  string
		run   func() error
		wants string
	}{
		{"name not required", func() error {
			_, err := secrets.PutCommand(ctx, w.opts(), tenantA, "staging", "OTHER_KEY", strings.NewReader("value1"), false)
			return err
		}, "not in required_secrets"},
		{"malformed name even with -extra", func() error {
			_, err := secrets.PutCommand(ctx, w.opts(), tenantA, "staging", "lower-case", strings.NewReader("value1"), true)
			return err
		}, "upper-case"},
		{"empty value", func() error {
			_, err := secrets.PutCommand(ctx, w.opts(), tenantA, "staging", "AI_GATEWAY_TOKEN", strings.NewReader("\n"), false)
			return err
		}, "empty"},
		{"dev env", func() error {
			_, err := secrets.PutCommand(ctx, w.opts(), tenantA, "dev", "AI_GATEWAY_TOKEN", strings.NewReader("value1"), false)
			return err
		}, ".dev.vars"},
		{"unknown tenant", func() error {
			_, err := secrets.PutCommand(ctx, w.opts(), "nobody", "staging", "AI_GATEWAY_TOKEN", strings.NewReader("value1"), false)
			return err
		}, "nobody"},
		{"sync of an unknown name", func() error {
			f := filepath.Join(t.TempDir(), "s.json")
			_ = os.WriteFile(f, []byte(`{"AI_GATEWAY_TOKEN":"abcd","NOT_REQUIRED":"efgh"}`), 0o600)
			_, err := secrets.SyncCommand(ctx, w.opts(), tenantA, "staging", f, false)
			return err
		}, "NOT_REQUIRED is not in required_secrets"},
		{"sync of an empty value", func() error {
			f := filepath.Join(t.TempDir(), "s.json")
			_ = os.WriteFile(f, []byte(`{"AI_GATEWAY_TOKEN":""}`), 0o600)
			_, err := secrets.SyncCommand(ctx, w.opts(), tenantA, "staging", f, false)
			return err
		}, "empty"},
		{"sync of a non-object", func() error {
			f := filepath.Join(t.TempDir(), "s.json")
			_ = os.WriteFile(f, []byte(`["AI_GATEWAY_TOKEN=secretvalue"]`), 0o600)
			_, err := secrets.SyncCommand(ctx, w.opts(), tenantA, "staging", f, false)
			return err
		}, "not a JSON object"},
		{"sync of a git-tracked file", func() error {
			f := filepath.Join(w.ws.Root, "tracked-secrets.json")
			_ = os.WriteFile(f, []byte(`{"AI_GATEWAY_TOKEN":"abcdef"}`), 0o600)
			for _, args := range [][]string{{"init", "-q"}, {"add", "tracked-secrets.json"}} {
				cmd := exec.Command("git", append([]string{"-C", w.ws.Root}, args...)...)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("git %v: %v %s", args, err, b)
				}
			}
			_, err := secrets.SyncCommand(ctx, w.opts(), tenantA, "staging", f, false)
			return err
		}, "tracked by git"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil || !strings.Contains(err.Error(), c.wants) {
				t.Fatalf("err = %v, want it to mention %q", err, c.wants)
			}
			for _, v := range []string{"value1", "abcd", "efgh", "secretvalue", "abcdef"} {
				if strings.Contains(err.Error(), v) {
					t.Fatalf("error shows a value: %v", err)
				}
			}
		})
	}
	if n := len(w.records(t)); n != 0 {
		t.Fatalf("refused requests wrote %d records", n)
	}
	// -extra=true allows a name the config does not require.
	if _, err := secrets.PutCommand(ctx, w.opts(), tenantA, "staging", "OTHER_KEY", strings.NewReader("value1"), true); err != nil {
		t.Fatal(err)
	}
}

// A secret can only change while the newest version serves everything (Cloudflare's 10215).
// The refusal names our way out: after a rollback, deploy; during a split rollout, settle it.
func TestPutWhileTheNewestVersionIsNotLive(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.deployWorker(t)
	api, err := cfapi.New(cfapi.Config{BaseURL: w.srv.URL + "/client/v4", Token: w.sb.Token(accountA), AccountID: accountA})
	if err != nil {
		t.Fatal(err)
	}
	first, err := api.LiveDeployment(ctx, workerA)
	if err != nil {
		t.Fatal(err)
	}
	v1 := first.Primary().VersionID
	if _, err := w.put(t, "AI_GATEWAY_TOKEN", "value-one", false); err != nil {
		t.Fatal(err)
	}
	second, _ := api.LiveDeployment(ctx, workerA)
	v2 := second.Primary().VersionID

	// A rollback to v1: the newest version (v2) no longer serves.
	if _, err := api.DeployVersion(ctx, workerA, v1, "rollback", true); err != nil {
		t.Fatal(err)
	}
	_, err = w.put(t, "AI_GATEWAY_TOKEN", "value-two", false)
	if err == nil || !strings.Contains(err.Error(), "put an older version back") || !strings.Contains(err.Error(), "deploy:tenant") {
		t.Errorf("after a rollback: %v", err)
	}

	// A split of v1 and v2, as a rollout leaves it.
	body := fmt.Sprintf(`{"strategy":"percentage","versions":[{"version_id":%q,"percentage":10},{"version_id":%q,"percentage":90}]}`, v2, v1)
	req, _ := http.NewRequest("POST", w.srv.URL+"/client/v4/accounts/"+accountA+"/workers/scripts/"+workerA+"/deployments?force=true", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+w.sb.Token(accountA))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("split deployment: %d", res.StatusCode)
	}
	_, err = w.put(t, "AI_GATEWAY_TOKEN", "value-three", false)
	if err == nil || !strings.Contains(err.Error(), "deploy:promote") || !strings.Contains(err.Error(), "deploy:abort") {
		t.Errorf("during a split: %v", err)
	}
}
