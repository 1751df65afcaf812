package testrepo

import (
	"os"
	"path/filepath"
)

// updateCheckSeed makes wrangler's update check believe it has just found the pinned
// release, so it never asks the npm registry (the machines have no internet).
const updateCheckSeed = `{"latest":"4.63.0","lastUpdate":9999999999999}`

// WranglerRun is the private world of one wrangler a test starts itself:
// its own HOME and TMPDIR with the update check seeded, a fresh ND-JSON output file, and an
// environment built from scratch so nothing of the test's own process (an operator's
// CLOUDFLARE_* variables, another token) reaches it.
type WranglerRun struct {
	// Dir holds everything below and is removed after the test.
	Dir string
	// Output is WRANGLER_OUTPUT_FILE_PATH; wrangler appends ND-JSON entries to it.
	Output string
	// Env is the child's complete environment.
	Env []string
}

// NewWranglerRun prepares a run. When apiBase is not "", wrangler talks to it (the
// sandbox's /client/v4) with token; otherwise it gets no API and no token (offline builds).
func NewWranglerRun(tb TB, apiBase, token string) WranglerRun {
	tb.Helper()
	dir := tb.TempDir()
	home, tmp := filepath.Join(dir, "home"), filepath.Join(dir, "tmp")
	for _, d := range []string{home, filepath.Join(tmp, "update-check")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatalf("testrepo: %v", err)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "update-check", "wrangler-latest.json"), []byte(updateCheckSeed), 0o644); err != nil {
		tb.Fatalf("testrepo: %v", err)
	}
	r := WranglerRun{Dir: dir, Output: filepath.Join(dir, "output.ndjson")}
	r.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"TMPDIR=" + tmp,
		"WRANGLER_OUTPUT_FILE_PATH=" + r.Output,
		"WRANGLER_SEND_METRICS=false",
		"WRANGLER_HIDE_BANNER=true",
		"WRANGLER_SEND_ERROR_REPORTS=false",
		"WRANGLER_LOG_PATH=" + filepath.Join(dir, "logs"),
	}
	if apiBase != "" {
		r.Env = append(r.Env, "CLOUDFLARE_API_BASE_URL="+apiBase, "CLOUDFLARE_API_TOKEN="+token)
	}
	return r
}
