package testrepo

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspacecopy"
)

// Options choose what a copy holds (see workspacecopy.Options).
type Options = workspacecopy.Options

// Copy makes a copy of repo (see workspacecopy.To) in a folder removed after the test.
func Copy(tb TB, repo workspace.Workspace, o Options) workspace.Workspace {
	tb.Helper()
	ws, err := workspacecopy.To(repo, tb.TempDir(), o)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	return ws
}

// TB is the part of testing.TB the helpers use; *testing.T and *testing.B satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	TempDir() string
	Cleanup(func())
}

// Repo is the checkout the test runs in (go test runs a package's tests in its folder).
func Repo(tb TB) workspace.Workspace {
	tb.Helper()
	ws, err := workspace.Cwd()
	if err != nil {
		tb.Fatalf("testrepo: %v", err)
	}
	return ws
}

// WranglerReady installs the node packages in repo when missing or stale and reports why
// wrangler cannot run there, or nil.
func WranglerReady(ctx context.Context, repo workspace.Workspace) error {
	if err := npmdeps.Ensure(ctx, slog.New(slog.DiscardHandler), repo.Root); err != nil {
		return err
	}
	if _, err := os.Stat(repo.NodeBin("wrangler")); err != nil {
		return fmt.Errorf("wrangler is not installed: %w", err)
	}
	// The wrangler launcher is a `#!/usr/bin/env node` script.
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("node is not on PATH: %w", err)
	}
	return nil
}

// NeedWrangler makes sure wrangler can run in repo. Without it the test is skipped on a
// laptop and fails when CI=true, so CI never passes green without having run it. Under
// -short (the unit layer a deploy's checks run) a test that starts wrangler is skipped.
func NeedWrangler(tb TB, repo workspace.Workspace) {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("end-to-end test (runs wrangler): not part of the -short unit layer")
	}
	if err := WranglerReady(context.Background(), repo); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("wrangler is required in CI: %v", err)
		}
		tb.Skipf("wrangler is not available: %v", err)
	}
}

// Wrangler is the pinned wrangler of the checkout the test runs in, after NeedWrangler.
func Wrangler(tb TB) string {
	tb.Helper()
	repo := Repo(tb)
	NeedWrangler(tb, repo)
	return repo.NodeBin("wrangler")
}

// NeedMage skips, under -short, a test that compiles a magefile with `go tool mage`: that
// takes tens of seconds and belongs to the full test run, not to the unit layer.
func NeedMage(tb TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("compiles a magefile: not part of the -short unit layer")
	}
}

// CompileMage compiles the magefile of ws (a copy made with Code, so that no two tests race
// on its magefiles/mage_output_file.go) into ws/.state/bin/<name> and returns the binary's
// path: running it directly skips `go tool mage`'s compile step on every call.
func CompileMage(tb TB, ws workspace.Workspace, name string) string {
	tb.Helper()
	bin := filepath.Join(ws.Root, ".state", "bin", name)
	compile := exec.Command("go", "tool", "mage", "-compile", bin)
	compile.Dir = ws.Root
	compile.Env = MageEnv()
	if out, err := compile.CombinedOutput(); err != nil {
		tb.Fatalf("go tool mage -compile: %v\n%s", err, out)
	}
	return bin
}

// MageEnv is this process's environment without anything that could point a `go tool mage`
// started by a test elsewhere than the copy's own sandbox: no Cloudflare or wrangler variable,
// no mage setting of the outer run.
func MageEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CLOUDFLARE_") || strings.HasPrefix(k, "CF_") || strings.HasPrefix(k, "WRANGLER_") || strings.HasPrefix(k, "MAGEFILE_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// FreePort is a loopback TCP port that was free a moment ago, for a server a test starts
// (wrangler dev) that must not collide with a developer's running one.
func FreePort(tb TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
