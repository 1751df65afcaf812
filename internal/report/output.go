package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
)

// JSON writes v as one indented JSON document followed by a newline. Callers write it to
// stdout and everything else to stderr, so `mage … -json=true > out.json` yields valid JSON.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("report: write json: %w", err)
	}
	return nil
}

// StepSummaryEnv is the variable GitHub Actions sets to the file that collects the job's
// markdown summary.
const StepSummaryEnv = "GITHUB_STEP_SUMMARY"

// AppendStepSummary appends markdown to the file named by $GITHUB_STEP_SUMMARY. It does
// nothing when the variable is unset, which is every run outside GitHub Actions.
func AppendStepSummary(markdown string) error {
	path := os.Getenv(StepSummaryEnv)
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("report: open %s (%s): %w", StepSummaryEnv, path, err)
	}
	if _, err := io.WriteString(f, markdown); err != nil {
		f.Close()
		return fmt.Errorf("report: append to %s (%s): %w", StepSummaryEnv, path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: close %s (%s): %w", StepSummaryEnv, path, err)
	}
	return nil
}

// ansi matches CSI escape sequences; wrangler colours its stderr even when it is a file.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

// StripANSI removes terminal escape sequences so logs can be shown or parsed as plain text.
func StripANSI(s string) string { return ansi.ReplaceAllString(s, "") }
