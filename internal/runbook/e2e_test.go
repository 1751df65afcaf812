package runbook_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/deploy"
	"github.com/rainbowsmoke/crispy-enigma/internal/deploytag"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/runbook"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxctl"
	"github.com/rainbowsmoke/crispy-enigma/internal/secrets"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

const tenant = "mrrainbowsmoke"

// TestRollbackRunbookAgainstSandbox runs every tested block of
// docs/runbooks/rollback-deployment.md, as written, in one shell, in a copy of the checkout
// whose running sandbox is served by this test, after two production deploys with the real
// wrangler. It then checks that the runbook did what it says: a verified rollback to the
// previous version, and a redeploy of the previous deploy tag.
func TestRollbackRunbookAgainstSandbox(t *testing.T) {
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo)
	for _, tool := range []string{"bash", "jq", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("the runbook needs %s: %v", tool, err)
			}
			t.Skipf("the runbook needs %s: %v", tool, err)
		}
	}
	ws := testrepo.Copy(t, repo, testrepo.Options{Code: true, Git: true})
	sb := testworld.StartSandbox(t, ws)
	// `go tool mage` in ws sees the sandbox and keeps its records apart from deployments/;
	// the in-process deploys below must write where the runbook's commands will read.
	ws.Records = sandboxctl.PathsFor(ws).Records

	// The Worker is set up first as an operator would: a first deploy, then its required
	// secrets (a later deploy's preflight requires them). That deploy's record goes elsewhere:
	// the runbook is about the two deploys below.
	setup := ws
	setup.Records = t.TempDir()
	if _, err := deploy.Run(context.Background(), deploy.Options{
		Workspace: setup, Tenant: tenant, Env: "production", Force: true,
		APIBaseURL: sb.APIBaseURL(), HTTPClient: sb.Edge,
		SandboxToken:   func(a string) (string, bool) { tok := sb.Server.Token(a); return tok, tok != "" },
		HealthDeadline: 15 * time.Second, Log: slog.New(slog.DiscardHandler),
	}); err != nil {
		t.Fatalf("setup deploy: %v", err)
	}
	const account = "4f1c2b7e9a0d43c8b6e5f70192a3b4c5"
	api, err := cfapi.New(cfapi.Config{BaseURL: sb.APIBaseURL(), Token: sb.Server.Token(account), AccountID: account})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.Put(context.Background(), api, tenant+"-api", []secrets.Value{
		{Name: "AI_GATEWAY_TOKEN", Value: "runbook-ai"}, {Name: "WEBHOOK_SIGNING_KEY", Value: "runbook-wh"},
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // tags are stamped to the second

	var tags []string
	var versions []string
	for range 2 {
		out, err := deploy.Run(context.Background(), deploy.Options{
			Workspace: ws, Tenant: tenant, Env: "production", Force: true,
			APIBaseURL: sb.APIBaseURL(), HTTPClient: sb.Edge,
			SandboxToken:   func(a string) (string, bool) { tok := sb.Server.Token(a); return tok, tok != "" },
			HealthDeadline: 15 * time.Second, Log: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatalf("setup deploy: %v", err)
		}
		versions = append(versions, out.Record.VersionID)
		tags = append(tags, tagOf(t, ws, out))
		time.Sleep(1100 * time.Millisecond) // tags are stamped to the second
	}

	script, n, err := runbook.Tested(filepath.Join(ws.Root, "docs", "runbooks", "rollback-deployment.md"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = ws.Root
	cmd.Env = testrepo.MageEnv()
	start := time.Now()
	outb, err := cmd.CombinedOutput()
	out := string(outb)
	t.Logf("%d runbook blocks ran in %s", n, time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("the runbook's commands failed: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("runbook output:\n%s", out)
	}

	es, err := history.Open(ws.DeploymentsDir()).List(tenant, "production")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 4 {
		t.Fatalf("%d records, want deploy, deploy, rollback, redeploy:\n%s", len(es), out)
	}
	redeploy, rb := es[0].Record, es[1].Record
	if rb.Kind != history.KindRollback || rb.Status != history.StatusSucceeded || rb.PreviousVersionID != versions[1] || rb.VersionID != versions[0] ||
		!strings.Contains(rb.Reason, "rollback during incident") {
		t.Errorf("option A record = %+v", rb)
	}
	if redeploy.Kind != history.KindDeploy || redeploy.Status != history.StatusSucceeded || redeploy.Reason != "redeploy of "+tags[0] ||
		redeploy.Health == nil || !redeploy.Health.OK {
		t.Errorf("option B record = %+v", redeploy)
	}
	if strings.Contains(out, "Unknown target") {
		t.Errorf("the runbook names a target mage does not have:\n%s", out)
	}
	if !strings.Contains(out, "already live") {
		t.Errorf("the -to block did not report the version already live:\n%s", out)
	}
	if probs, _ := history.Verify(ws.DeploymentsDir()); len(probs) != 0 {
		t.Errorf("records after the runbook do not verify: %v", probs)
	}
}

// tagOf returns the deploy tag of a production deploy, making it when the pipeline did not.
func tagOf(t *testing.T, ws workspace.Workspace, out deploy.Outcome) string {
	t.Helper()
	if out.Tag != "" {
		return out.Tag // the pipeline tagged it
	}
	r := out.Record
	ctx := context.Background()
	want := deploytag.Name(tenant, r.FinishedAt)
	if tags, err := deploytag.List(ctx, ws.Root, tenant); err == nil {
		for _, tg := range tags {
			if tg.Name == want {
				return tg.Name
			}
		}
	}
	name, err := deploytag.Create(ctx, ws.Root, deploytag.FromRecord(r, out.RecordFile))
	if err != nil {
		t.Fatal(err)
	}
	return name
}
