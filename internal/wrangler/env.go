package wrangler

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// PinnedVersion is the wrangler release package-lock.json pins. The update-check cache is
// seeded with it so wrangler believes it is current and never asks the npm registry.
const PinnedVersion = "4.63.0"

// updateCheckCache is what wrangler's update check (npm update-check) reads from
// $TMPDIR/update-check/wrangler-latest.json; a lastUpdate far in the future means "checked
// just now" for ever.
const updateCheckCache = `{"latest":"` + PinnedVersion + `","lastUpdate":9999999999999}`

// systemPath is appended after node's folder: wrangler and npm shell out to a few standard
// tools, never to anything the user has installed.
const systemPath = "/usr/local/bin:/usr/bin:/bin"

// scratch is the private world of one wrangler run.
type scratch struct {
	dir    string // holds everything below; removed after the run unless kept
	home   string // HOME: ~/.config/.wrangler (metrics consent, debug logs) lands here
	tmp    string // TMPDIR: the seeded update-check cache lives here
	cwd    string // empty working directory: wrangler loads .env files from its cwd
	output string // WRANGLER_OUTPUT_FILE_PATH: ND-JSON, append-only, so fresh per run
}

// newScratch creates a run folder under parent (or the system temp folder when parent is "").
func newScratch(parent string) (*scratch, error) {
	if parent != "" {
		if err := os.MkdirAll(parent, 0o700); err != nil {
			return nil, fmt.Errorf("scratch folder: %w", err)
		}
	}
	dir, err := os.MkdirTemp(parent, "wrangler-run-")
	if err != nil {
		return nil, fmt.Errorf("scratch folder: %w", err)
	}
	s := &scratch{
		dir:    dir,
		home:   filepath.Join(dir, "home"),
		tmp:    filepath.Join(dir, "tmp"),
		cwd:    filepath.Join(dir, "cwd"),
		output: filepath.Join(dir, "output.ndjson"),
	}
	for _, d := range []string{s.home, s.cwd, filepath.Join(s.tmp, "update-check")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, errors.Join(fmt.Errorf("scratch folder: %w", err), os.RemoveAll(dir))
		}
	}
	seed := filepath.Join(s.tmp, "update-check", "wrangler-latest.json")
	if err := os.WriteFile(seed, []byte(updateCheckCache), 0o600); err != nil {
		return nil, errors.Join(fmt.Errorf("scratch folder: %w", err), os.RemoveAll(dir))
	}
	return s, nil
}

// nodeDir is the folder of the node executable: the wrangler launcher is a
// `#!/usr/bin/env node` script, so node must be on the child's PATH.
func nodeDir() (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("node not found on PATH; install Node.js 20 and run again: %w", err)
	}
	abs, err := filepath.Abs(node)
	if err != nil {
		return "", err
	}
	return filepath.Dir(abs), nil
}

// environ builds the child's complete environment. Nothing is inherited from our own process:
// an operator's CLOUDFLARE_* variables, WRANGLER_CI_OVERRIDE_NAME (which renames the Worker)
// or another tenant's token must never reach a tenant's run. Booleans are exactly true/false
// because wrangler aborts on "1".
func environ(inv Invocation, s *scratch, nodeBin string) []string {
	env := []string{
		"PATH=" + nodeBin + ":" + systemPath,
		"HOME=" + s.home,
		"TMPDIR=" + s.tmp,
		"CI=true",
		"WRANGLER_SEND_METRICS=false",
		"WRANGLER_HIDE_BANNER=true",
		"WRANGLER_SEND_ERROR_REPORTS=false",
		// Below "log", wrangler swallows the --json output of the list commands.
		"WRANGLER_LOG=log",
		"WRANGLER_OUTPUT_FILE_PATH=" + s.output,
	}
	if !inv.Token.Empty() {
		env = append(env, "CLOUDFLARE_API_TOKEN="+inv.Token.Reveal())
	}
	if inv.AccountID != "" {
		env = append(env, "CLOUDFLARE_ACCOUNT_ID="+inv.AccountID)
	}
	if inv.APIBaseURL != "" {
		// A trailing slash makes wrangler request /client/v4//accounts/…
		env = append(env, "CLOUDFLARE_API_BASE_URL="+strings.TrimRight(inv.APIBaseURL, "/"))
	}
	return env
}
