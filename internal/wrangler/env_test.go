package wrangler

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/creds"
)

const (
	canaryOurToken = "canary-our-own-token-7f3a"
	invToken       = "tenant-token-b81c55e0"
)

// The child's environment is built from scratch: node itself reports exactly the variables
// we set, and none of the canaries planted in our own environment.
func TestChildEnvironmentIsBuiltFromScratch(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is required in CI")
		}
		t.Skip("node not on PATH")
	}
	t.Setenv("CLOUDFLARE_API_TOKEN", canaryOurToken)
	t.Setenv("CLOUDFLARE_ACCOUNT_ID", "canary-account-ffff")
	t.Setenv("CLOUDFLARE_API_TOKEN_OTHERTENANT", canaryOurToken)
	t.Setenv("WRANGLER_CI_OVERRIDE_NAME", "canary-name")
	t.Setenv("CANARY_PLAIN", "canary-plain")

	inv := Invocation{
		ConfigPath: "unused.jsonc", ScratchDir: t.TempDir(),
		Token: creds.NewSecret(invToken), AccountID: "4f1c2b7e9a0d43c8b6e5f70192a3b4c5",
		APIBaseURL: "http://127.0.0.1:9/client/v4/",
	}
	r := Runner{Bin: node}
	script := `console.log(JSON.stringify({env: process.env, cwd: process.cwd(), files: require("fs").readdirSync(process.cwd())}))`
	res, err := r.exec(context.Background(), inv, "env probe", []string{"-e", script}, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(res.Stdout, invToken) {
		t.Fatalf("the token was not scrubbed from captured stdout")
	}
	var seen struct {
		Env   map[string]string `json:"env"`
		Cwd   string            `json:"cwd"`
		Files []string          `json:"files"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &seen); err != nil {
		t.Fatalf("%v in %q", err, res.Stdout)
	}
	var names []string
	for k := range seen.Env {
		names = append(names, k)
	}
	slices.Sort(names)
	want := []string{"CI", "CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_BASE_URL", "CLOUDFLARE_API_TOKEN", "HOME", "PATH", "TMPDIR",
		"WRANGLER_HIDE_BANNER", "WRANGLER_LOG", "WRANGLER_OUTPUT_FILE_PATH", "WRANGLER_SEND_ERROR_REPORTS", "WRANGLER_SEND_METRICS"}
	if !slices.Equal(names, want) {
		t.Errorf("child variables = %v\nwant %v", names, want)
	}
	for k, v := range seen.Env {
		if strings.Contains(v, "canary") {
			t.Errorf("canary reached the child: %s=%s", k, v)
		}
	}
	checks := map[string]string{
		"CLOUDFLARE_API_TOKEN":        redactedText, // passed, and scrubbed from what we captured
		"CLOUDFLARE_ACCOUNT_ID":       inv.AccountID,
		"CLOUDFLARE_API_BASE_URL":     "http://127.0.0.1:9/client/v4",
		"WRANGLER_SEND_METRICS":       "false",
		"WRANGLER_HIDE_BANNER":        "true",
		"WRANGLER_SEND_ERROR_REPORTS": "false",
		"WRANGLER_LOG":                "log",
		"CI":                          "true",
	}
	for k, v := range checks {
		if seen.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, seen.Env[k], v)
		}
	}
	scratch := filepath.Dir(seen.Env["HOME"])
	if !strings.HasPrefix(scratch, inv.ScratchDir) || seen.Env["TMPDIR"] != filepath.Join(scratch, "tmp") || seen.Cwd != filepath.Join(scratch, "cwd") {
		t.Errorf("HOME/TMPDIR/cwd not in the run's scratch folder under %s: %v %v", inv.ScratchDir, seen.Env, seen.Cwd)
	}
	if len(seen.Files) != 0 {
		t.Errorf("working directory not empty: %v", seen.Files)
	}
	if _, err := os.Stat(scratch); !os.IsNotExist(err) {
		t.Errorf("scratch folder %s left behind (err %v)", scratch, err)
	}
}

// Without credentials in the Invocation, none are set: nothing falls back to ours.
func TestChildEnvironmentWithoutCredentials(t *testing.T) {
	t.Setenv("CLOUDFLARE_API_TOKEN", canaryOurToken)
	s, err := newScratch(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	env := environ(Invocation{}, s, "/opt/node/bin")
	for _, kv := range env {
		if strings.HasPrefix(kv, "CLOUDFLARE_") {
			t.Errorf("unexpected %s", kv)
		}
	}
	if !slices.Contains(env, "PATH=/opt/node/bin:"+systemPath) {
		t.Errorf("PATH does not lead with node's folder: %v", env)
	}
	seed, err := os.ReadFile(filepath.Join(s.tmp, "update-check", "wrangler-latest.json"))
	if err != nil || !strings.Contains(string(seed), `"latest":"`+PinnedVersion+`"`) {
		t.Errorf("update-check cache not seeded: %s %v", seed, err)
	}
}

// Two runs never share HOME, TMPDIR or the ND-JSON file (it is append-only).
func TestEachRunHasItsOwnScratch(t *testing.T) {
	parent := t.TempDir()
	a, err := newScratch(parent)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newScratch(parent)
	if err != nil {
		t.Fatal(err)
	}
	if a.home == b.home || a.tmp == b.tmp || a.output == b.output || a.cwd == b.cwd {
		t.Errorf("runs share a folder: %+v %+v", a, b)
	}
}
