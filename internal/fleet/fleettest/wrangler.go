package fleettest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"

	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// WranglerReady installs the node packages if needed and reports why wrangler cannot run,
// or nil. Tests skip on a laptop without Node and fail when CI=true (see MustHaveWrangler).
func WranglerReady(ctx context.Context, repo workspace.Workspace) error {
	if err := npmdeps.Ensure(ctx, slog.New(slog.DiscardHandler), repo.Root); err != nil {
		return err
	}
	if _, err := os.Stat(repo.NodeBin("wrangler")); err != nil {
		return fmt.Errorf("wrangler is not installed: %w", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("node is not on PATH: %w", err)
	}
	return nil
}

// TB is the part of testing.TB the helpers use.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	TempDir() string
	Cleanup(func())
}

// MustHaveWrangler skips the test when wrangler cannot run, except in CI (CI=true), where
// it fails: a green CI run must have exercised wrangler.
func MustHaveWrangler(t TB, repo workspace.Workspace) {
	t.Helper()
	if err := WranglerReady(context.Background(), repo); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("wrangler is required in CI: %v", err)
		}
		t.Skipf("wrangler is not available: %v", err)
	}
}

// NewT builds a world for a test in t.TempDir() and closes it at the end of the test.
func NewT(t TB, o Options) *World {
	t.Helper()
	repo, err := workspace.Cwd()
	if err != nil {
		t.Fatalf("%v", err)
	}
	MustHaveWrangler(t, repo)
	w, err := New(repo, t.TempDir(), o)
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(w.Close)
	return w
}
