package treecheck_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/ci"
	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/secrets"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/treecheck"
)

// TestDeployThroughMageDependsOnItsChecks runs `deploy:tenant mrrainbowsmoke staging` through the
// compiled magefile against the sandbox (real wrangler): a Worker that fails to typecheck is
// refused before any upload, even with -emergency=true; a tree that already passed its checks
// deploys without running them again and says so, -json=true printing one JSON document on
// stdout and nothing else; an emergency deploy's record says its checks were skipped.
//
// Running the full checks in a copy (staticcheck, go test -short on a cold path) would take
// minutes; that first run is TestGateRunsOncePerTree's, with stand-in steps.
func TestDeployThroughMageDependsOnItsChecks(t *testing.T) {
	testrepo.NeedMage(t)
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo)
	ws := testrepo.Copy(t, repo, testrepo.Options{Code: true, Git: true})
	sb := testworld.StartSandbox(t, ws)
	bin := testrepo.CompileMage(t, ws, "mage-checks")
	deployTenant := func(args ...string) (string, string, error) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"deploy:tenant", "mrrainbowsmoke", "staging"}, args...)...)
		cmd.Dir = ws.Root
		cmd.Env = testrepo.MageEnv()
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	const account, worker = "4f1c2b7e9a0d43c8b6e5f70192a3b4c5", "mrrainbowsmoke-api-staging"

	// A type error in the Worker: refused before any upload, emergency or not.
	src := filepath.Join(ws.WorkerDir(), "src", "routes", "health.ts")
	good, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, append(good, []byte("\nexport const broken: number = \"nope\";\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := deployTenant("-emergency=true")
	if err == nil || !strings.Contains(stderr, `step "worker-typecheck" failed`) || !strings.Contains(stderr, "refused before anything was uploaded") {
		t.Fatalf("a Worker that does not typecheck: err %v\n%s%s", err, stdout, stderr)
	}
	if vs := sb.Server.Versions(account, worker); len(vs) != 0 {
		t.Fatalf("a refused deploy uploaded %d versions", len(vs))
	}
	if err := os.WriteFile(src, good, 0o644); err != nil {
		t.Fatal(err)
	}

	// This tree passed its checks (as `mage ci` would record): they do not run again.
	if err := treecheck.MarkPassed(context.Background(), ws, ci.FastSteps(ci.Options{Workspace: ws})); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err = deployTenant("-json=true")
	if err != nil {
		t.Fatalf("deploy: %v\n%s%s", err, stdout, stderr)
	}
	if !strings.Contains(stderr, "already passed lint, typecheck, unit") || strings.Contains(stderr, "==> lint") {
		t.Errorf("the output does not say the checks were skipped for a checked tree:\n%s", stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	var out deploy.Outcome
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("stdout is not a JSON document: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Errorf("stdout holds more than one JSON document:\n%s", stdout)
	}
	if out.Record.Status != "succeeded" || out.Record.Checks == nil || out.Record.Checks.Status != treecheck.StatusAlreadyPassed {
		t.Errorf("record status %s, checks %+v", out.Record.Status, out.Record.Checks)
	}
	if !strings.Contains(stderr, "health: mrrainbowsmoke/staging: healthy, version "+out.Record.VersionID) {
		t.Errorf("deploy:tenant did not end with the health check:\n%s", stderr)
	}

	// The next deploy's preflight requires the secrets that this first deploy went live without.
	api, err := cfapi.New(cfapi.Config{BaseURL: sb.APIBaseURL(), Token: sb.Server.Token(account), AccountID: account})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.Put(context.Background(), api, worker, []secrets.Value{{Name: "AI_GATEWAY_TOKEN", Value: "v-ai"}, {Name: "WEBHOOK_SIGNING_KEY", Value: "v-wh"}}); err != nil {
		t.Fatal(err)
	}

	// An emergency deploy: the record says the checks were skipped.
	stdout, stderr, err = deployTenant("-emergency=true", "-force=true", "-json=true")
	if err != nil {
		t.Fatalf("emergency deploy: %v\n%s%s", err, stdout, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || out.Record.Checks == nil || out.Record.Checks.Status != treecheck.StatusEmergency {
		t.Errorf("emergency record checks %+v (%v)", out.Record.Checks, err)
	}
}
