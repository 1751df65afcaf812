package preflight_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfcontract"
	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandboxhost"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/testworld"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

// TestWranglerDoesNotProvision: the real wrangler deploy, given a KV binding without an id
// (which validation refuses before any deploy), does not create a namespace in the account.
func TestWranglerDoesNotProvision(t *testing.T) {
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo)
	ws := testrepo.Copy(t, repo, testrepo.Options{})
	cfg := filepath.Join(ws.TenantsDir(), tenantA, "wrangler.jsonc")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	noID := bytes.Replace(b, []byte(`{ "binding": "CACHE", "id": "`+kvA+`" }`), []byte(`{ "binding": "CACHE" }`), 1)
	if bytes.Equal(noID, b) {
		t.Fatal("setup: the staging KV binding was not found")
	}
	if err := os.WriteFile(cfg, noID, 0o644); err != nil {
		t.Fatal(err)
	}
	accts, err := sandboxhost.Accounts(ws)
	if err != nil {
		t.Fatal(err)
	}
	var reqs testworld.RequestLog
	sb, err := sandbox.New(sandbox.Options{Accounts: accts, RequestLog: &reqs, Observe: cfcontract.Observer[sandbox.Exchange](t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, sb)
	inv := wrangler.Invocation{ConfigPath: cfg, Env: "staging", AccountID: accountA, Token: creds.NewSecret(sb.Token(accountA)),
		APIBaseURL: srv + "/client/v4", ScratchDir: t.TempDir()}
	_, err = wrangler.New(ws, nil).Deploy(context.Background(), inv)
	t.Logf("wrangler deploy: %v\nrequests:\n%s", err, reqs.String())
	if err == nil || !strings.Contains(err.Error(), `CACHE bindings must have an "id" field`) {
		t.Fatalf("wrangler deploy of an id-less KV binding: %v; want wrangler's refusal", err)
	}
	for _, bad := range []string{`"method":"POST","path":"/client/v4/accounts/` + accountA + `/storage/kv/namespaces"`, `"method":"PUT"`} {
		if strings.Contains(reqs.String(), bad) {
			t.Fatalf("wrangler created a namespace or uploaded: %s", bad)
		}
	}

	// The same deploy without the flag provisions: wrangler asks the account for its KV
	// namespaces to create or pick one (it is the flag that stops it).
	reqs.Reset()
	run := testrepo.NewWranglerRun(t, srv+"/client/v4", sb.Token(accountA))
	cmd := exec.Command(testrepo.Wrangler(t), "deploy", "--config", cfg, "--env=staging")
	cmd.Dir, cmd.Env = run.Dir, append(run.Env, "CLOUDFLARE_ACCOUNT_ID="+accountA)
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(reqs.String(), "/storage/kv/namespaces") {
		t.Fatalf("without --no-x-provision wrangler did not look for a namespace to provision:\n%s\n%s", out, reqs.String())
	}
}
