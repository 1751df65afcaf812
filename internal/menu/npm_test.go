package menu_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// TestNPMAliases runs scripts/npm-mage.mjs (what package.json's scripts call) with a fake `go`
// on PATH that records its arguments and exits with a chosen code: each alias becomes the
// documented mage invocation, the exit code comes back unchanged, and a bad flag is refused
// with the usage line before go runs at all. One case goes through `npm run` itself.
func TestNPMAliases(t *testing.T) {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required in CI: %v", tool, err)
			}
			t.Skipf("%s is not on PATH: %v", tool, err)
		}
	}
	repo := testrepo.Repo(t)
	bin := t.TempDir()
	argsFile := filepath.Join(bin, "args")
	fakeGo := "#!/bin/sh\nprintf '%s\\n' \"$*\" > " + argsFile + "\nexit ${FAKE_EXIT:-0}\n"
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(exit string, argv ...string) (string, string, int) {
		t.Helper()
		os.Remove(argsFile)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = repo.Root
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "FAKE_EXIT="+exit)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", argv, err)
		}
		got, _ := os.ReadFile(argsFile)
		return strings.TrimSpace(string(got)), string(out), code
	}
	script := filepath.Join(repo.Root, "scripts", "npm-mage.mjs")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"validate", "--tenant=mrrainbowsmoke"}, "tool mage validate mrrainbowsmoke"},
		{[]string{"validate"}, "tool mage validate all"},
		{[]string{"deploy", "--tenant=mrrainbowsmoke", "--env=staging"}, "tool mage deploy:tenant mrrainbowsmoke staging"},
		{[]string{"deploy", "--tenant=a", "--env=prod", "--dry-run", "--json"}, "tool mage deploy:tenant a prod -dryRun=true -json=true"},
		{[]string{"deploy:all", "--env=staging"}, "tool mage deploy:all staging"},
		{[]string{"deploy:all", "--env=staging", "--parallel", "--continue-on-error", "--only=a,b"}, "tool mage deploy:all staging -parallel=4 -only=a,b -continueOnError=true"},
		{[]string{"deploy:all", "--env=production", "--parallel=2", "--canary=a"}, "tool mage deploy:all production -parallel=2 -canary=a"},
		{[]string{"drift", "--tenant=mrrainbowsmoke", "--env=staging"}, "tool mage drift mrrainbowsmoke staging"},
		{[]string{"drift", "--env=production", "--json"}, "tool mage drift all production -json=true"},
	} {
		got, out, code := run("0", append([]string{"node", script}, c.args...)...)
		if got != c.want || code != 0 {
			t.Errorf("%v: ran go %q (exit %d), want go %q\n%s", c.args, got, code, c.want, out)
		}
	}
	// Exit codes come back unchanged: drift's 2, a failed deploy's 1.
	for _, exit := range []string{"1", "2"} {
		if _, _, code := run(exit, "node", script, "drift", "--env=staging"); code != int(exit[0]-'0') {
			t.Errorf("go exited %s, the alias %d", exit, code)
		}
	}
	for _, bad := range [][]string{
		{"deploy", "--env=qa"},
		{"deploy", "--tenant=a", "--env=qa"},
		{"deploy", "--tenant=a", "--env=staging", "--bogus"},
		{"deploy:all", "--env=dev"},
		{"deploy:all", "--env=staging", "--parallel=zero"},
		{"drift", "--tenant=a"},
		{"validate", "extra"},
		{"nosuch"},
	} {
		got, out, code := run("0", append([]string{"node", script}, bad...)...)
		if code != 2 || got != "" || !strings.Contains(out, "usage: npm run") {
			t.Errorf("%v: exit %d, ran go %q, output %q; want exit 2, the usage line and no go", bad, code, got, out)
		}
	}
	// Through npm itself, as the README shows it.
	got, out, code := run("0", "npm", "run", "--silent", "deploy", "--", "--tenant=mrrainbowsmoke", "--env=staging")
	if code != 0 || got != "tool mage deploy:tenant mrrainbowsmoke staging" {
		t.Errorf("npm run deploy: exit %d, ran go %q\n%s", code, got, out)
	}
	if _, out, code := run("0", "npm", "run", "--silent", "deploy", "--", "--env=qa"); code != 2 || !strings.Contains(out, "usage: npm run deploy") {
		t.Errorf("npm run deploy -- --env=qa: exit %d\n%s", code, out)
	}
}
