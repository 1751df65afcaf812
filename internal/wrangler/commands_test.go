package wrangler

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
)

const liveID = "b54145b1-0000-4000-8000-000000000001"

// argsFile returns a script line recording the command line, and a reader for it.
func argsFile(t *testing.T) (string, func() string) {
	p := filepath.Join(t.TempDir(), "args")
	return `printf '%s\n' "$@" > ` + p, func() string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}

func TestDeployReadsTheDeployEntry(t *testing.T) {
	rec, args := argsFile(t)
	r := fakeWrangler(t, rec+`
echo '{"type":"wrangler-session","version":1,"log_file_path":"/x.log"}' >> "$WRANGLER_OUTPUT_FILE_PATH"
echo '{"type":"deploy","version":1,"worker_name":"t-api-staging","worker_tag":"abc","version_id":"`+liveID+`","targets":["https://t-api-staging.t.workers.dev","schedule: 0 * * * *"],"wrangler_environment":"staging","worker_name_overridden":false}' >> "$WRANGLER_OUTPUT_FILE_PATH"
echo "Uploaded t-api-staging (1.00 sec)"
echo "Current Version ID: `+liveID+`"`)
	inv := Invocation{ConfigPath: "/cfg/wrangler.jsonc", Env: "staging", ScratchDir: t.TempDir()}
	got, err := r.Deploy(context.Background(), inv)
	if err != nil {
		t.Fatal(err)
	}
	if got.WorkerName != "t-api-staging" || got.WorkerTag != "abc" || got.VersionID != liveID || len(got.Targets) != 2 {
		t.Errorf("result = %+v", got)
	}
	if a := args(); a != "deploy\n--no-x-provision\n--config\n/cfg/wrangler.jsonc\n--env=staging\n" {
		t.Errorf("args = %q", a)
	}
}

// A trigger failure after the upload: the error says the new version went live, carries the
// API code, and never the token, even when wrangler prints it.
func TestDeployFailureAfterUpload(t *testing.T) {
	const token = "tok-9d2e4c1a77"
	r := fakeWrangler(t, `
echo '{"type":"command-failed","version":1,"code":10013,"message":"A request to the Cloudflare API (/accounts/a/workers/scripts/w/schedules) failed. `+token+`"}' >> "$WRANGLER_OUTPUT_FILE_PATH"
echo "Uploaded t-api-staging (0.52 sec)"
printf '\033[31m✘ \033[41;31m[\033[41;97mERROR\033[41;31m]\033[0m \033[1mschedules failed for %s\033[0m\n' "$CLOUDFLARE_API_TOKEN" >&2
exit 1`)
	inv := Invocation{ConfigPath: "c", Env: "staging", ScratchDir: t.TempDir(), Token: creds.NewSecret(token)}
	_, err := r.Deploy(context.Background(), inv)
	var ce *CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *CommandError", err)
	}
	if !ce.Uploaded || ce.Code != "10013" || ce.ExitCode != 1 {
		t.Errorf("error = %+v", ce)
	}
	if n, ok := ce.APICode(); !ok || n != 10013 {
		t.Errorf("APICode = %d, %v", n, ok)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("token in error: %v", err)
	}
	if !strings.Contains(ce.Stderr, "✘ [ERROR] schedules failed for [REDACTED]") {
		t.Errorf("stderr = %q", ce.Stderr)
	}
}

func TestDeployFailureBeforeUpload(t *testing.T) {
	r := fakeWrangler(t, `echo '{"type":"command-failed","code":971,"message":"rate limited"}' >> "$WRANGLER_OUTPUT_FILE_PATH"; exit 1`)
	_, err := r.Deploy(context.Background(), Invocation{ConfigPath: "c", ScratchDir: t.TempDir()})
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Uploaded || ce.Code != "971" || ce.Message != "rate limited" {
		t.Errorf("err = %#v", err)
	}
}

// The API omitted the version id: the upload happened, so the caller must treat it as such.
func TestDeployWithoutVersionID(t *testing.T) {
	r := fakeWrangler(t, `echo '{"type":"deploy","worker_name":"w","worker_tag":"t","targets":[]}' >> "$WRANGLER_OUTPUT_FILE_PATH"`)
	_, err := r.Deploy(context.Background(), Invocation{ConfigPath: "c", ScratchDir: t.TempDir()})
	var ce *CommandError
	if !errors.As(err, &ce) || !ce.Uploaded {
		t.Errorf("err = %v, want a CommandError with Uploaded", err)
	}
}

func TestDeployRefusesAnOverriddenName(t *testing.T) {
	r := fakeWrangler(t, `echo '{"type":"deploy","worker_name":"evil","version_id":"`+liveID+`","worker_name_overridden":true}' >> "$WRANGLER_OUTPUT_FILE_PATH"`)
	if _, err := r.Deploy(context.Background(), Invocation{ConfigPath: "c", ScratchDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "WRANGLER_CI_OVERRIDE_NAME") {
		t.Errorf("err = %v", err)
	}
}

func TestVersionsDeploy(t *testing.T) {
	rec, args := argsFile(t)
	r := fakeWrangler(t, rec+`
echo '{"type":"version-deploy","worker_name":"w","worker_tag":"t","deployment_id":"d-1","version_traffic":{}}' >> "$WRANGLER_OUTPUT_FILE_PATH"`)
	inv := Invocation{ConfigPath: "/c", Env: "staging", ScratchDir: t.TempDir()}
	other := "0123456789abcdef0123456789abcdef"
	got, err := r.VersionsDeploy(context.Background(), inv, []Split{{liveID, 10}, {other, 90}}, "canary")
	if err != nil {
		t.Fatal(err)
	}
	if got.DeploymentID != "d-1" || got.WorkerName != "w" {
		t.Errorf("result = %+v", got)
	}
	if a := args(); a != "versions\ndeploy\n"+liveID+"@10%\n"+other+"@90%\n--message\ncanary\n--yes\n--config\n/c\n--env=staging\n" {
		t.Errorf("args = %q", a)
	}
	for name, bad := range map[string][]Split{
		"none":      nil,
		"three":     {{liveID, 50}, {other, 25}, {other, 25}},
		"not 100":   {{liveID, 50}},
		"negative":  {{liveID, 110}, {other, -10}},
		"flag-like": {{"--help", 100}},
	} {
		if _, err := r.VersionsDeploy(context.Background(), inv, bad, "m"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestVersionsUpload(t *testing.T) {
	rec, args := argsFile(t)
	r := fakeWrangler(t, rec+`
echo '{"type":"version-upload","worker_name":"w","worker_tag":"t","version_id":"`+liveID+`"}' >> "$WRANGLER_OUTPUT_FILE_PATH"`)
	got, err := r.VersionsUpload(context.Background(), Invocation{ConfigPath: "/c", ScratchDir: t.TempDir()}, "fp-123", "msg")
	if err != nil || got.VersionID != liveID {
		t.Fatalf("%+v %v", got, err)
	}
	if a := args(); a != "versions\nupload\n--no-x-provision\n--tag\nfp-123\n--message\nmsg\n--config\n/c\n--env=\n" {
		t.Errorf("args = %q", a)
	}
}

// wrangler prints lists oldest first; callers get the newest (the live one) first.
func TestListsAreNewestFirst(t *testing.T) {
	r := fakeWrangler(t, `case "$1" in
deployments) echo '[{"id":"old","created_on":"2026-11-28T10:00:00.000000Z","versions":[{"version_id":"v1","percentage":100}]},{"id":"new","created_on":"2026-11-28T11:00:00.000000Z","versions":[{"version_id":"v2","percentage":100}]}]';;
versions) echo '[{"id":"v1","metadata":{"created_on":"2026-11-28T10:00:00Z"}},{"id":"v2","metadata":{"created_on":"2026-11-28T11:00:00Z"},"annotations":{"workers/tag":"fp"}}]';;
secret) echo '[{"name":"API_KEY","type":"secret_text"}]';;
esac`)
	inv := Invocation{ConfigPath: "/c", ScratchDir: t.TempDir()}
	ds, err := r.DeploymentsList(context.Background(), inv)
	if err != nil || len(ds) != 2 || ds[0].ID != "new" || ds[0].Versions[0].VersionID != "v2" {
		t.Errorf("deployments = %+v, %v", ds, err)
	}
	vs, err := r.VersionsList(context.Background(), inv)
	if err != nil || len(vs) != 2 || vs[0].ID != "v2" || vs[0].Annotations["workers/tag"] != "fp" {
		t.Errorf("versions = %+v, %v", vs, err)
	}
	ss, err := r.SecretList(context.Background(), inv)
	if err != nil || len(ss) != 1 || ss[0] != (Secret{"API_KEY", "secret_text"}) {
		t.Errorf("secrets = %+v, %v", ss, err)
	}
	bad := fakeWrangler(t, `echo 'not json'`)
	if _, err := bad.DeploymentsList(context.Background(), inv); err == nil {
		t.Error("garbage stdout accepted")
	}
}

// The secret value goes in on stdin, never on the command line, and is scrubbed from output.
func TestSecretPut(t *testing.T) {
	rec, args := argsFile(t)
	got := filepath.Join(t.TempDir(), "stdin")
	r := fakeWrangler(t, rec+`
cat > `+got+`
echo "received $(cat `+got+`)"`)
	var shown lines
	inv := Invocation{ConfigPath: "/c", ScratchDir: t.TempDir(), Output: &shown}
	if err := r.SecretPut(context.Background(), inv, "WEBHOOK_SIGNING_KEY", creds.NewSecret("v@lue-5ecret")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(got); string(b) != "v@lue-5ecret" {
		t.Errorf("stdin = %q", b)
	}
	if a := args(); strings.Contains(a, "5ecret") || !strings.HasPrefix(a, "secret\nput\nWEBHOOK_SIGNING_KEY\n") {
		t.Errorf("args = %q", a)
	}
	if shown.String() != "received [REDACTED]\n" {
		t.Errorf("shown = %q", shown.String())
	}
	for _, name := range []string{"", "1X", "A-B", "--help"} {
		if r.SecretPut(context.Background(), inv, name, creds.NewSecret("v")) == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}

// Interrupted after the upload: the error matches context.Canceled and says the new
// version is live.
func TestDeployInterruptedAfterUpload(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "uploaded")
	r := fakeWrangler(t, `echo "Uploaded t-api-staging (0.40 sec)"; touch `+marker+`; sleep 300`)
	r.Grace = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if _, err := os.Stat(marker); err == nil {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	_, err := r.Deploy(ctx, Invocation{ConfigPath: "c", ScratchDir: t.TempDir()})
	var ie *InterruptedError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &ie) || !ie.Uploaded {
		t.Errorf("err = %#v, want an InterruptedError with Uploaded matching context.Canceled", err)
	}
	if _, err := r.Deploy(ctx, Invocation{ConfigPath: "c", ScratchDir: t.TempDir()}); !errors.Is(err, context.Canceled) {
		t.Errorf("deploy with a done context started: %v", err)
	}
}

func TestDeployTimeoutAfterUpload(t *testing.T) {
	r := fakeWrangler(t, `echo "Uploaded t-api-staging (0.40 sec)"; sleep 300`)
	r.Timeout, r.Grace = 300*time.Millisecond, 100*time.Millisecond
	_, err := r.Deploy(context.Background(), Invocation{ConfigPath: "c", ScratchDir: t.TempDir()})
	var ie *InterruptedError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ie) || !ie.Uploaded {
		t.Errorf("err = %#v, want an InterruptedError with Uploaded matching DeadlineExceeded", err)
	}
}

// APICode returns Code as a Cloudflare API error number, when it is one.
func (e *CommandError) APICode() (int, bool) {
	n, err := strconv.Atoi(e.Code)
	return n, err == nil
}
