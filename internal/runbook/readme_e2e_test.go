package runbook_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/runbook"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// codeChange is the walkthrough's comment line that asks the reader to change the Worker; the
// test makes that change where the line stands.
const codeChange = "# change the Worker now"

// TestReadmeVerbatim runs the README as a new user would, line by line, exactly as written, each
// line in its own bash: the set-up block's main job (`deploy:tenant mrrainbowsmoke dev`) and the
// whole sandbox walkthrough, in a fresh clone (the tracked files only: no node_modules, no
// .state, no build output), with no Chromium to be found, making the code change the
// walkthrough asks for where it asks. Every line must exit 0; fleet:status may exit 2
// (attention), as the README says.
func TestReadmeVerbatim(t *testing.T) {
	repo := testrepo.Repo(t)
	testrepo.NeedWrangler(t, repo) // node, npm and the pinned packages (for the npm cache)
	for _, tool := range []string{"bash", "git", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("the README needs %s: %v", tool, err)
			}
			t.Skipf("the README needs %s: %v", tool, err)
		}
	}
	md, err := os.ReadFile(filepath.Join(repo.Root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := runbook.Parse("README.md", md)
	if err != nil {
		t.Fatal(err)
	}
	mainJob := pick(t, blocks, "go tool mage deploy:tenant mrrainbowsmoke dev", "the set-up block's main job")
	walk := linesOf(pick(t, blocks, "go tool mage sandbox:start", "the sandbox walkthrough").Script)
	if !containsPrefix(walk, codeChange) {
		t.Fatalf("the walkthrough no longer asks for a code change (%q) before the rollout; rollback needs an earlier code version", codeChange)
	}

	clone := freshClone(t, repo.Root)
	// wrangler dev listens on the tenant's dev.port: a port of this test's own, so that nothing
	// else on the machine decides the outcome. The line itself runs as written.
	devPort := testrepo.FreePort(t)
	for _, f := range []string{"tenant.config.json", "wrangler.jsonc"} {
		cfg := filepath.Join(clone, "tenants", "mrrainbowsmoke", f)
		b, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(`"port": 8787`)) {
			t.Fatalf("%s: no dev port 8787 to move", cfg)
		}
		if err := os.WriteFile(cfg, bytes.Replace(b, []byte(`"port": 8787`), []byte(`"port": `+strconv.Itoa(devPort)), 1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitIn(t, clone, "commit", "-qam", "test: a dev port of the test's own")

	env := readmeEnv(t)
	run := func(line string) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-c", line)
		cmd.Dir, cmd.Env = clone, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		t.Logf("$ %s  (%s)", line, time.Since(start).Round(time.Millisecond))
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, out.String()
		case errors.As(err, &ee):
			return ee.ExitCode(), out.String()
		}
		t.Fatalf("%s: %v\n%s", line, err, out.String())
		return -1, ""
	}
	t.Cleanup(func() {
		// Whatever happened: no sandbox or wrangler dev left behind.
		for _, l := range []string{"go tool mage sandbox:stop", "go tool mage dev:stop all"} {
			cmd := exec.Command("bash", "-c", l)
			cmd.Dir, cmd.Env = clone, env
			_ = cmd.Run()
		}
	})

	// The main job: the tenant's Worker locally, health-checked.
	for _, line := range linesOf(mainJob.Script) {
		if !strings.Contains(line, "deploy:tenant mrrainbowsmoke dev") {
			continue // `go tool mage ci` is the tool's suite, run by CI itself
		}
		if code, out := run(line); code != 0 {
			t.Fatalf("README.md:%d: %s exited %d:\n%s", mainJob.Line, line, code, out)
		}
	}
	if code, out := run("go tool mage dev:stop all"); code != 0 {
		t.Fatalf("dev:stop all exited %d:\n%s", code, out)
	}

	changed := false
	for _, line := range walk {
		if strings.HasPrefix(line, "#") {
			if strings.HasPrefix(line, codeChange) {
				changeWorker(t, clone)
				changed = true
			}
			continue
		}
		if strings.Contains(line, "-rollout=") && !changed {
			t.Fatalf("the walkthrough rolls out before it changes the code: %s", line)
		}
		code, out := run(line)
		if code == 0 || (code == 2 && strings.Contains(line, "fleet:status")) {
			continue
		}
		t.Fatalf("README.md walkthrough: %s exited %d:\n%s", line, code, out)
	}
}

// pick is the first shell block of the README containing want.
func pick(t *testing.T, blocks []runbook.Block, want, what string) runbook.Block {
	t.Helper()
	for _, b := range blocks {
		if strings.Contains(b.Script, want) {
			return b
		}
	}
	t.Fatalf("README.md has no shell block with %q (%s)", want, what)
	return runbook.Block{}
}

func linesOf(script string) []string {
	var ls []string
	for _, l := range strings.Split(script, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ls = append(ls, l)
		}
	}
	return ls
}

func containsPrefix(lines []string, p string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// freshClone is what `git clone` of this checkout would give a new user: its tracked files as
// they are now (so that an uncommitted README is the one tested), one commit, no remote.
func freshClone(t *testing.T, root string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		info, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if info.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, to); err != nil {
				t.Fatal(err)
			}
			continue
		}
		copyFile(t, src, to, info.Mode().Perm())
	}
	gitIn(t, dst, "init", "-q")
	gitIn(t, dst, "add", "-A")
	gitIn(t, dst, "commit", "-qm", "a fresh clone")
	return dst
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=readme", "GIT_AUTHOR_EMAIL=readme@example.invalid",
		"GIT_COMMITTER_NAME=readme", "GIT_COMMITTER_EMAIL=readme@example.invalid")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// readmeEnv is a new user's environment: this one without Cloudflare or Mage settings, with
// no Chromium on PATH (and CHROMIUM_BIN naming none), and with a git identity for the
// commits a deploy's tags may need.
func readmeEnv(t *testing.T) []string {
	t.Helper()
	var env []string
	for _, kv := range testrepo.MageEnv() {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH":
			var keep []string
			for _, dir := range filepath.SplitList(v) {
				// A folder with a browser goes, unless it also holds the tools the README runs
				// (/usr/bin): then CHROMIUM_BIN below names no browser, which every lookup
				// (browser.Chromium) asks first.
				if !hasBrowser(dir) || hasTools(dir) {
					keep = append(keep, dir)
				}
			}
			kv = "PATH=" + strings.Join(keep, string(filepath.ListSeparator))
		case "CHROMIUM_BIN":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "CHROMIUM_BIN="+filepath.Join(t.TempDir(), "no-chromium"),
		"GIT_AUTHOR_NAME=readme", "GIT_AUTHOR_EMAIL=readme@example.invalid",
		"GIT_COMMITTER_NAME=readme", "GIT_COMMITTER_EMAIL=readme@example.invalid")
}

func hasTools(dir string) bool {
	for _, n := range []string{"bash", "git", "go", "node"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}

func hasBrowser(dir string) bool {
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}

// changeWorker is the change the walkthrough asks for: a header added to /health's answer.
func changeWorker(t *testing.T, clone string) {
	t.Helper()
	f := filepath.Join(clone, "apps", "worker-api", "src", "routes", "health.ts")
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "return json(body, problems.length === 0 ? 200 : 503);"
	if !bytes.Contains(b, []byte(anchor)) {
		t.Fatalf("%s: no %q to add a header to", f, anchor)
	}
	b = bytes.Replace(b, []byte(anchor), []byte(`return json(body, problems.length === 0 ? 200 : 503, { "x-walkthrough": "changed" });`), 1)
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
