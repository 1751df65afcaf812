package preflight_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/treecheck"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

type mageRun struct {
	stdout, stderr string
	code           int
}

func (r mageRun) out() string { return r.stdout + r.stderr }

// mage runs `go tool mage args...` in ws, as an operator would, with stdin.
func mage(t *testing.T, ws workspace.Workspace, stdin string, args ...string) mageRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "mage"}, args...)...)
	cmd.Dir, cmd.Env = ws.Root, append(testrepo.MageEnv(), "NO_COLOR=1")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := mageRun{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("go tool mage %v: %v", args, err)
	}
	t.Logf("go tool mage %s: exit %d\n%s", strings.Join(args, " "), r.code, r.out())
	return r
}

// TestIssueAcceptance walks the issue's acceptance lines with `go tool mage` and the real
// wrangler against a sandbox seeded from the tenants, in a throwaway copy of the checkout.
func TestIssueAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go tool mage and wrangler")
	}
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo)
	ws := testrepo.Copy(t, repo, testrepo.Options{Code: true, Git: true})
	sb := testworld.StartSandbox(t, ws)
	// This test is about preflight and secrets, not about the checks a deploy depends on: each
	// tree it deploys counts as checked, so each deploy goes straight to its pipeline.
	markChecked := func() {
		t.Helper()
		if err := treecheck.MarkPassed(context.Background(), ws); err != nil {
			t.Fatal(err)
		}
	}
	markChecked()
	ws.Records = sandboxctl.PathsFor(ws).Records
	api, err := cfapi.New(cfapi.Config{BaseURL: sb.APIBaseURL(), Token: sb.Server.Token(accountA), AccountID: accountA})
	if err != nil {
		t.Fatal(err)
	}
	versions := func() int {
		vs, err := api.Versions(context.Background(), workerA, 0)
		if errors.Is(err, cfapi.ErrNotFound) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return len(vs)
	}
	// Split so that this file, copied into the checkout, does not itself hold the value.
	canary := "CANARY-acceptance-" + "secret-6f2a9c"
	var outputs strings.Builder
	mage := func(t *testing.T, ws workspace.Workspace, stdin string, args ...string) mageRun {
		t.Helper()
		r := mage(t, ws, stdin, args...)
		outputs.WriteString(r.out())
		return r
	}

	// 1. Fresh sandbox: the first deploy succeeds and warns about the two secrets.
	r := mage(t, ws, "", "deploy:tenant", tenantA, "staging")
	if r.code != 0 || !strings.Contains(r.out(), "AI_GATEWAY_TOKEN") || !strings.Contains(r.out(), "WEBHOOK_SIGNING_KEY") || !strings.Contains(r.out(), "warning") {
		t.Fatalf("first deploy: exit %d", r.code)
	}
	if es, _ := history.Open(ws.DeploymentsDir()).List(tenantA, "staging"); len(es) != 1 || len(es[0].Record.MissingSecrets) != 2 {
		t.Fatalf("the first deploy's record does not list the missing secrets: %+v", es)
	}
	// drift exits 2 naming them.
	r = mage(t, ws, "", "drift", tenantA, "staging")
	if r.code != 2 || !strings.Contains(r.out(), "secrets.AI_GATEWAY_TOKEN") || !strings.Contains(r.out(), "secrets.WEBHOOK_SIGNING_KEY") {
		t.Fatalf("drift before the secrets: exit %d", r.code)
	}
	// secrets:list exits 1 while they are missing.
	if r = mage(t, ws, "", "secrets:list", tenantA, "staging"); r.code != 1 || !strings.Contains(r.out(), "MISSING") {
		t.Fatalf("secrets:list before: exit %d", r.code)
	}
	// 2. secrets:put both from stdin; drift and secrets:list exit 0.
	r = mage(t, ws, "v", "secrets:put", tenantA, "staging", "AI_GATEWAY_TOKEN")
	if r.code != 0 || !strings.Contains(r.out(), "new version") {
		t.Fatalf("secrets:put: exit %d", r.code)
	}
	if r = mage(t, ws, canary, "secrets:put", tenantA, "staging", "WEBHOOK_SIGNING_KEY"); r.code != 0 {
		t.Fatalf("secrets:put: exit %d", r.code)
	}
	if r = mage(t, ws, "", "drift", tenantA, "staging"); r.code != 0 {
		t.Fatalf("drift after secrets:put: exit %d", r.code)
	}
	if r = mage(t, ws, "", "secrets:list", tenantA, "staging"); r.code != 0 {
		t.Fatalf("secrets:list after: exit %d", r.code)
	}
	// The unchanged tree stays unchanged: the secret put kept the deploy's fingerprint.
	if r = mage(t, ws, "", "deploy:tenant", tenantA, "staging"); r.code != 0 || !strings.Contains(r.out(), "unchanged") {
		t.Fatalf("deploy after secrets:put: exit %d", r.code)
	}

	// 3. A secret deleted out of band: a changed deploy is refused before upload.
	if err := sb.Server.Mutate(sandbox.Mutation{AccountID: accountA, Script: workerA, Op: "delete_secret", Name: "WEBHOOK_SIGNING_KEY"}); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(ws.WorkerDir(), "src", "index.ts")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, append(b, []byte("\nexport const acceptanceMarker = \"changed\";\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	markChecked()
	n := versions()
	r = mage(t, ws, "", "deploy:tenant", tenantA, "staging")
	if r.code != 1 || !strings.Contains(r.out(), "WEBHOOK_SIGNING_KEY") || !strings.Contains(r.out(), "secrets:put mrrainbowsmoke staging WEBHOOK_SIGNING_KEY") {
		t.Fatalf("deploy with a secret missing: exit %d", r.code)
	}
	if versions() != n {
		t.Fatal("a deploy refused at preflight uploaded a version")
	}
	if r = mage(t, ws, canary+"2", "secrets:put", tenantA, "staging", "WEBHOOK_SIGNING_KEY"); r.code != 0 {
		t.Fatalf("secrets:put again: exit %d", r.code)
	}

	// 4. The staging KV id changed to one the account does not have: preflight and
	// deploy:tenant fail naming CACHE, the id and the account; deploy:all uploads nothing.
	const missing = "0123456789abcdef0123456789abcdef"
	cfg := filepath.Join(ws.TenantsDir(), tenantA, "wrangler.jsonc")
	b, err = os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, bytes.Replace(b, []byte(kvA), []byte(missing), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	markChecked()
	for _, args := range [][]string{{"preflight", tenantA, "staging"}, {"deploy:tenant", tenantA, "staging"}} {
		r = mage(t, ws, "", args...)
		if r.code != 1 || !strings.Contains(r.out(), "CACHE") || !strings.Contains(r.out(), missing) || !strings.Contains(r.out(), accountA) {
			t.Fatalf("%v with a missing KV namespace: exit %d", args, r.code)
		}
	}
	n = versions()
	r = mage(t, ws, "", "deploy:all", "staging")
	if r.code != 1 || versions() != n {
		t.Fatalf("deploy:all with an unready tenant: exit %d, versions %d -> %d", r.code, n, versions())
	}
	other, err := cfapi.New(cfapi.Config{BaseURL: sb.APIBaseURL(), Token: sb.Server.Token("9e8d7c6b5a4f43e2a1b0c9d8e7f6a5b4"), AccountID: "9e8d7c6b5a4f43e2a1b0c9d8e7f6a5b4"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Script(context.Background(), "rainbowsmokeofficial-api-staging"); !errors.Is(err, cfapi.ErrNotFound) {
		t.Fatalf("the ready tenant was deployed although another was not ready: %v", err)
	}

	// 5. The canary value is in no output, and in no file of the checkout (records, logs,
	// .build/, .state/) but the sandbox's state.
	if strings.Contains(outputs.String(), canary) {
		t.Error("a command's output shows the secret value")
	}
	state := sandboxctl.PathsFor(ws).State
	_ = filepath.WalkDir(ws.Root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == state || d.Type()&os.ModeSymlink != 0 || strings.Contains(p, "/node_modules/") || strings.Contains(p, "/.git/") {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(canary)) {
			t.Errorf("%s holds the secret value", p)
		}
		return nil
	})
}
