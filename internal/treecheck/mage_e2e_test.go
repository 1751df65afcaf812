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
	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/secrets"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/treecheck"
)

// TestDeployThroughMageDependsOnItsChecks runs `deploy:tenant mrrainbowsmoke staging` through the
// compiled magefile against the sandbox (real wrangler): a Worker that fails to typecheck is
// refused before any upload, even with -emergency=true, and the refusal is recorded (failed,
// naming the check); a changed tree runs the deploy checks (the Worker's typecheck and tests,
// validation, the build) and not the tool's lint or Go tests; the same tree's next deploy does
// not run them again and says so, -json=true printing one JSON document on stdout and nothing
// else; an emergency deploy's record says its checks were skipped.
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

	// A type error in the Worker: refused before any upload, emergency or not, and recorded.
	src := filepath.Join(ws.WorkerDir(), "src", "routes", "health.ts")
	good, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, append(good, []byte("\nexport const broken: number = \"nope\";\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-emergency=true", "-json=true"}, {"-json=true"}} {
		stdout, stderr, err := deployTenant(args...)
		if err == nil || !strings.Contains(stderr, `step "worker-typecheck" failed`) || !strings.Contains(stderr, "before anything was uploaded") {
			t.Fatalf("%v: a Worker that does not typecheck: err %v\n%s%s", args, err, stdout, stderr)
		}
		var out deploy.Outcome
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("%v: stdout is not the outcome: %v\n%s", args, err, stdout)
		}
		if out.RecordFile == "" || out.Record.Status != "failed" || out.Record.Checks == nil ||
			out.Record.Checks.Status != treecheck.StatusFailed || out.Record.Checks.Failed != "worker-typecheck" ||
			!strings.Contains(out.Record.Error, "refused by the checks") {
			t.Errorf("%v: the refusal's record: file %q status %q checks %+v error %q", args, out.RecordFile, out.Record.Status, out.Record.Checks, out.Record.Error)
		}
	}
	if vs := sb.Server.Versions(account, worker); len(vs) != 0 {
		t.Fatalf("a refused deploy uploaded %d versions", len(vs))
	}
	if err := os.WriteFile(src, good, 0o644); err != nil {
		t.Fatal(err)
	}

	// A changed tree: the deploy checks run, the tool's lint and Go tests do not.
	stdout, stderr, err := deployTenant("-json=true")
	if err != nil {
		t.Fatalf("deploy: %v\n%s%s", err, stdout, stderr)
	}
	for _, want := range []string{"==> worker-typecheck", "==> worker-tests", "==> validate", "==> build"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the deploy checks did not run %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "==> lint") || strings.Contains(stderr, "==> unit") {
		t.Errorf("a deploy ran the tool's own checks:\n%s", stderr)
	}
	var out deploy.Outcome
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || out.Record.Status != "succeeded" || out.Record.Checks == nil || out.Record.Checks.Status != treecheck.StatusPassed {
		t.Fatalf("first deploy: %v, record %+v", err, out.Record)
	}

	// The next deploy's preflight requires the secrets that the first deploy went live without.
	api, err := cfapi.New(cfapi.Config{BaseURL: sb.APIBaseURL(), Token: sb.Server.Token(account), AccountID: account})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.Put(context.Background(), api, worker, []secrets.Value{{Name: "AI_GATEWAY_TOKEN", Value: "v-ai"}, {Name: "WEBHOOK_SIGNING_KEY", Value: "v-wh"}}); err != nil {
		t.Fatal(err)
	}

	// The same tree again: the checks do not run again.
	stdout, stderr, err = deployTenant("-json=true", "-force=true")
	if err != nil {
		t.Fatalf("deploy: %v\n%s%s", err, stdout, stderr)
	}
	if !strings.Contains(stderr, "already passed the deploy checks") || strings.Contains(stderr, "==> worker-tests") {
		t.Errorf("the output does not say the checks were skipped for a checked tree:\n%s", stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("stdout is not a JSON document: %v\n%s", err, stdout)
	}
	if dec.More() {
		t.Errorf("stdout holds more than one JSON document:\n%s", stdout)
	}
	if out.Record.Checks == nil || out.Record.Checks.Status != treecheck.StatusAlreadyPassed {
		t.Errorf("record status %s, checks %+v", out.Record.Status, out.Record.Checks)
	}

	// An emergency deploy: the record says the checks were skipped.
	stdout, stderr, err = deployTenant("-emergency=true", "-force=true", "-json=true")
	if err != nil {
		t.Fatalf("emergency deploy: %v\n%s%s", err, stdout, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || out.Record.Checks == nil || out.Record.Checks.Status != treecheck.StatusEmergency {
		t.Errorf("emergency record checks %+v (%v)", out.Record.Checks, err)
	}
	if !strings.Contains(stderr, "health: mrrainbowsmoke/staging: healthy, version "+out.Record.VersionID) {
		t.Errorf("deploy:tenant did not end with the health check:\n%s", stderr)
	}
}
