package wrangler

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// realRunner returns a Runner for the pinned wrangler, installing node packages if needed.
// Without wrangler the test skips on a laptop but fails in CI, so CI can never pass green
// without having run it.
func realRunner(t testing.TB) Runner {
	t.Helper()
	ws := testrepo.Repo(t)
	testrepo.NeedWrangler(t, ws)
	r := New(ws, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	// The checkout's own cache is left alone; each test starts without one.
	r.CodeCache = filepath.Join(t.TempDir(), "code-cache")
	return r
}

// fakeWrangler writes a shell script that stands in for wrangler, for tests about how runs
// are started, stopped and read rather than about wrangler itself.
func fakeWrangler(t *testing.T, body string) Runner {
	t.Helper()
	p := filepath.Join(t.TempDir(), "wrangler")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return Runner{Bin: p}
}

// fixtureInvocation points at the fixture Worker with a per-test scratch folder.
func fixtureInvocation(t *testing.T, env string) Invocation {
	t.Helper()
	return Invocation{ConfigPath: filepath.Join("testdata", "fixture", "wrangler.jsonc"), Env: env, ScratchDir: t.TempDir()}
}

// lines is a writer tests use as Invocation.Output.
type lines struct{ strings.Builder }

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func errorsAsCommand(err error) (*CommandError, bool) {
	var ce *CommandError
	ok := errors.As(err, &ce)
	return ce, ok
}
