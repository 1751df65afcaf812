package validate

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/npmdeps"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspacecopy"
)

// fixedNow is the clock of every test: compat-date-future must not depend on the day the
// tests run.
var fixedNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

var ensureOnce sync.Once

// repo returns the real workspace (for its schemas) after making sure node_modules exists.
// Without wrangler's schema the test is skipped locally and fails in CI.
func repo(tb testing.TB) workspace.Workspace {
	tb.Helper()
	ws, err := workspace.Find(".")
	if err != nil {
		tb.Fatal(err)
	}
	ensureOnce.Do(func() {
		if err := npmdeps.Ensure(context.Background(), slog.New(slog.DiscardHandler), ws.Root); err != nil {
			tb.Logf("npm ci: %v", err)
		}
	})
	if _, err := os.Stat(ws.WranglerSchema()); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("wrangler's config schema is missing in CI: %v", err)
		}
		tb.Skipf("wrangler's config schema is missing (run npm ci): %v", err)
	}
	return ws
}

// validatorFor builds a Validator over a workspace rooted at root, with the real schemas.
func validatorFor(tb testing.TB, root string) *Validator {
	tb.Helper()
	real := repo(tb)
	v, err := New(workspace.Workspace{Root: root}, nil, Options{
		TenantSchema:   filepath.Join(real.SchemasDir(), "tenant.config.schema.json"),
		WranglerSchema: real.WranglerSchema(),
		Now:            func() time.Time { return fixedNow },
	})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// copyTree copies the files under src into dst, creating folders.
func copyTree(tb testing.TB, src, dst string) {
	tb.Helper()
	if err := workspacecopy.Tree(src, dst); err != nil {
		tb.Fatal(err)
	}
}

// baseWorkspace copies the valid two-tenant base into a temporary folder.
func baseWorkspace(tb testing.TB) string {
	tb.Helper()
	root := tb.TempDir()
	copyTree(tb, filepath.Join("testdata", "base"), root)
	return root
}

// brief renders problems as "path:line:col: rule", the part the corpus pins down.
func brief(ps []Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strings.SplitN(p.String(), ": ", 3)[0] + ": " + p.Rule
	}
	return out
}
