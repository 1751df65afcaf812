package fleettest

import (
	"context"

	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// WranglerReady installs the node packages if needed and reports why wrangler cannot run,
// or nil. Tests skip on a laptop without Node and fail when CI=true (see MustHaveWrangler).
func WranglerReady(ctx context.Context, repo workspace.Workspace) error {
	return testrepo.WranglerReady(ctx, repo)
}

// TB is the part of testing.TB the helpers use.
type TB = testrepo.TB

// MustHaveWrangler skips the test when wrangler cannot run, except in CI (CI=true), where
// it fails: a green CI run must have exercised wrangler.
func MustHaveWrangler(t TB, repo workspace.Workspace) {
	t.Helper()
	testrepo.NeedWrangler(t, repo)
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
