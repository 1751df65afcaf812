package wrangler

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
	"github.com/rainbowsmoke/crispy-enigma/internal/sandbox"
)

// fixtureAccount is the account_id in testdata/fixture/wrangler.jsonc.
const fixtureAccount = "0123456789abcdef0123456789abcdef"

// The whole Runner against the real wrangler and the local Cloudflare API: deploy, redeploy,
// lists, rollback, secrets, a split deployment, and a trigger failure after the upload. The
// token never shows in anything we captured.
func TestRunnerAgainstTheSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("runs wrangler against the sandbox")
	}
	r := realRunner(t)
	const token = "sandbox-canary-token-2c9e41d7"
	s, err := sandbox.New(sandbox.Options{
		Accounts: []sandbox.Account{{ID: fixtureAccount, Name: "Fixture", Subdomain: "fixture", Token: token}},
		Log:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	var shown lines
	inv := fixtureInvocation(t, "staging")
	inv.Token, inv.AccountID, inv.APIBaseURL, inv.Output = creds.NewSecret(token), fixtureAccount, ts.URL+"/client/v4", &shown
	// A hung wrangler fails the test with its output instead of stalling the suite.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("wrangler output:\n%s", shown.String())
		}
	})
	const worker = "fixture-api-staging"
	live := func() []sandbox.DeploymentVersion {
		d, ok := s.Live(fixtureAccount, worker)
		if !ok {
			t.Fatal("nothing live")
		}
		return d.Versions
	}

	first, err := r.Deploy(ctx, inv)
	if err != nil {
		t.Fatal(err)
	}
	if first.WorkerName != worker || !slices.Contains(first.Targets, "schedule: 0 * * * *") {
		t.Errorf("first deploy = %+v", first)
	}
	if v := live(); len(v) != 1 || !sameID(v[0].VersionID, first.VersionID) {
		t.Errorf("live = %+v, want %s", v, first.VersionID)
	}

	second, err := r.Deploy(ctx, inv)
	if err != nil {
		t.Fatal(err)
	}
	if second.VersionID == first.VersionID || second.WorkerTag == "" {
		t.Errorf("second deploy = %+v", second)
	}
	ds, err := r.DeploymentsList(ctx, inv)
	if err != nil || len(ds) < 2 || !sameID(ds[0].Versions[0].VersionID, second.VersionID) {
		t.Errorf("deployments = %+v, %v", ds, err)
	}
	vs, err := r.VersionsList(ctx, inv)
	if err != nil || len(vs) < 2 || !sameID(vs[0].ID, second.VersionID) {
		t.Errorf("versions = %+v, %v", vs, err)
	}

	// Secrets go in while the newest version is live: Cloudflare refuses a secret change
	// (code 10215) when it is not, as after the rollback below.
	const secretValue = "secret-value-canary-88f1"
	if err := r.SecretPut(ctx, inv, "WEBHOOK_SIGNING_KEY", creds.NewSecret(secretValue)); err != nil {
		t.Fatal(err)
	}
	ss, err := r.SecretList(ctx, inv)
	if err != nil || !slices.Contains(ss, Secret{"WEBHOOK_SIGNING_KEY", "secret_text"}) {
		t.Errorf("secrets = %+v, %v", ss, err)
	}

	up, err := r.VersionsUpload(ctx, inv, "fp-1", "canary build")
	if err != nil {
		t.Fatal(err)
	}
	base := live()[0].VersionID
	if _, err := r.VersionsDeploy(ctx, inv, []Split{{up.VersionID, 10}, {base, 90}}, "canary 10%"); err != nil {
		t.Fatal(err)
	}
	if v := live(); len(v) != 2 {
		t.Errorf("split live = %+v", v)
	}

	// The cron PUT fails after the upload: the error must say the new code is live.
	s.AddFault(sandbox.Fault{Method: "PUT", Path: "/accounts/*/workers/scripts/*/schedules", Status: 500, Count: 1})
	_, err = r.Deploy(ctx, inv)
	var ce *CommandError
	if !errors.As(err, &ce) || !ce.Uploaded {
		t.Errorf("trigger failure: err = %v, want a CommandError with Uploaded", err)
	}

	for _, secret := range []string{token, secretValue} {
		if strings.Contains(shown.String(), secret) || (err != nil && strings.Contains(err.Error(), secret)) {
			t.Errorf("a secret reached the output")
		}
	}
}

// sameID compares version ids ignoring hyphens and case: wrangler may print either form.
func sameID(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "")) }
	return norm(a) == norm(b)
}
