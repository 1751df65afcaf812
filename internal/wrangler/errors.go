package wrangler

import (
	"fmt"
	"strings"
)

// CommandError is a wrangler run that ended with a non-zero exit. Match it with errors.As.
type CommandError struct {
	// Command is the wrangler sub-command, e.g. "deploy" or "versions deploy".
	Command string
	// ExitCode is wrangler's exit status (always 1 in 4.63.0, but kept as seen).
	ExitCode int
	// Code is the code of the ND-JSON command-failed entry: errors[0].code of a Cloudflare API
	// error ("10013"), a Node error code ("ERR_TTY_INIT_FAILED"), or "" when there was none.
	Code string
	// Message is the first line of wrangler's error (command-failed message), token removed.
	Message string
	// Uploaded reports that wrangler had already put the new version live before it failed
	// (it printed "Uploaded <worker>"): the trigger phase (routes, crons, workers.dev) runs
	// after that, so a failure there leaves the new code serving. Only deploy sets it.
	Uploaded bool
	// VersionID is the new version's id when wrangler printed it before failing, else "".
	VersionID string
	// Stderr is the tail of wrangler's stderr, ANSI stripped and token removed, for the user.
	Stderr string
}

func (e *CommandError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wrangler %s failed (exit %d)", e.Command, e.ExitCode)
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Code != "" {
		b.WriteString(" [code " + e.Code + "]")
	}
	if e.Uploaded {
		b.WriteString("; the new version was already uploaded and live when it failed")
	}
	if e.Stderr != "" {
		b.WriteString("\n" + e.Stderr)
	}
	return b.String()
}

// tail keeps the last n non-empty lines of s: enough to show why, short enough for an error.
func tail(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// InterruptedError is a deploy stopped by its context (Ctrl-C, SIGTERM, a deadline) after
// wrangler started. It matches errors.Is(err, context.Canceled) (or DeadlineExceeded) and
// says how far wrangler had got, so the caller can decide whether to roll back.
type InterruptedError struct {
	Command string
	// Uploaded and VersionID mean the same as in CommandError.
	Uploaded  bool
	VersionID string
	Err       error
}

func (e *InterruptedError) Error() string {
	s := e.Err.Error()
	if e.Uploaded {
		s += "; the new version was already uploaded and live"
	}
	return s
}

func (e *InterruptedError) Unwrap() error { return e.Err }

// RateLimited reports whether wrangler failed on a 429 from Cloudflare (code 971, "Please
// wait and consider throttling your request speed"): wrangler never retries those itself.
func (e *CommandError) RateLimited() bool {
	if e.Code == "971" {
		return true
	}
	m := strings.ToLower(e.Message)
	return strings.Contains(m, "too many requests") || strings.Contains(m, "throttling your request")
}

// Transient reports whether wrangler failed on an answer the same request may well not get
// again, and says which, for the run's progress and record. These are the failures users met
// mid-deploy in 2025-2026 that a rerun cured: Cloudflare's throttling (971, 6100; wrangler
// 4.63.0 never retries a 429), an incomplete upload body (10013), the intermittent refusal of
// KV bindings for want of a permission the token has (10023), a deployment refused because a
// secret changed since the upload (10220; a fresh upload carries the new secret), and a
// connection that broke after wrangler's own three tries. Whether a rerun is safe is the
// caller's to judge (nothing may have gone live); this only names the failure.
func (e *CommandError) Transient() (string, bool) {
	switch e.Code {
	case "971", "6100":
		return "Cloudflare answered 429 (throttled, code " + e.Code + ")", true
	case "10013":
		return "Cloudflare received an incomplete upload (code 10013)", true
	case "10023":
		return "Cloudflare refused the KV bindings for a permission the token has (code 10023, intermittent)", true
	case "10220":
		return "a secret changed between the upload and the deployment (code 10220)", true
	}
	if e.RateLimited() {
		return "Cloudflare answered 429 (rate limited)", true
	}
	m := strings.ToLower(e.Message + "\n" + e.Stderr)
	for _, s := range []string{"fetch failed", "econnreset", "socket hang up", "other side closed", "epipe", "und_err_socket"} {
		if strings.Contains(m, s) {
			return "the connection to Cloudflare broke (" + s + ")", true
		}
	}
	return "", false
}
