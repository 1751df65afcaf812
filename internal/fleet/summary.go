package fleet

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// Summary is the result of one fleet run.
type Summary struct {
	Env             tenant.Env `json:"env"`
	Canary          string     `json:"canary,omitempty"`
	Parallel        int        `json:"parallel"`
	ContinueOnError bool       `json:"continue_on_error"`
	// Waves are the cumulative tenant counts of -waves (nil without).
	Waves    []int         `json:"waves,omitempty"`
	Duration time.Duration `json:"-"`
	Outcomes []Outcome     `json:"tenants"`
	// RecordsDir is where the run's records went (deployments/, or the sandbox's folder in a
	// rehearsal), for the error to point at; "" says deployments/.
	RecordsDir string `json:"records_dir,omitempty"`
	// Unready are the tenants preflight found not ready and -continueOnError skipped: the
	// fleet is not all deployed, so the run is not ok although none of them failed.
	Unready []string `json:"unready,omitempty"`
}

// Failed lists the tenants that started and did not end OK.
func (s Summary) Failed() []Outcome {
	var out []Outcome
	for _, o := range s.Outcomes {
		if o.Status.Failure() {
			out = append(out, o)
		}
	}
	return out
}

// Counts is the number of tenants per status.
func (s Summary) Counts() map[Status]int {
	c := map[Status]int{}
	for _, o := range s.Outcomes {
		c[o.Status]++
	}
	return c
}

// Err is nil when every tenant deployed or was unchanged; otherwise it names the failed
// tenants, or the unready ones skipped (the target returns it, so the exit code is 1).
func (s Summary) Err() error {
	failed := s.Failed()
	if len(failed) == 0 {
		if len(s.Unready) > 0 {
			return fmt.Errorf("deploy:all %s: %d tenant(s) not ready and skipped: %s; run `go tool mage preflight all %s`",
				s.Env, len(s.Unready), strings.Join(s.Unready, ", "), s.Env)
		}
		return nil
	}
	names := make([]string, len(failed))
	for i, o := range failed {
		names[i] = o.Tenant + " (" + string(o.Status) + ")"
	}
	dir := s.RecordsDir
	if dir == "" {
		dir = "deployments/"
	}
	return fmt.Errorf("deploy:all %s: %d of %d tenants failed: %s; see the log excerpts above and the records in %s",
		s.Env, len(failed), len(s.Outcomes), strings.Join(names, ", "), dir)
}

// jsonDoc is the -json=true document: the summary plus computed counts.
type jsonDoc struct {
	Summary
	DurationMS int64          `json:"duration_ms"`
	Counts     map[Status]int `json:"counts"`
	Failed     int            `json:"failed"`
	OK         bool           `json:"ok"`
}

// WriteJSON writes the summary as one JSON document.
func (s Summary) WriteJSON(w io.Writer) error {
	return report.JSON(w, jsonDoc{Summary: s, DurationMS: s.Duration.Milliseconds(),
		Counts: s.Counts(), Failed: len(s.Failed()), OK: s.Err() == nil})
}

// Table is the summary table: tenant, status, version, duration, URL.
func (s Summary) Table() report.Table {
	t := report.Table{
		Title:   fmt.Sprintf("deploy:all %s: %s in %s", s.Env, s.countLine(), s.Duration.Round(100*time.Millisecond)),
		Columns: []string{"tenant", "status", "version", "duration", "url"},
	}
	if len(s.Waves) > 0 {
		t.Columns = append([]string{"wave"}, t.Columns...)
	}
	for _, o := range s.Outcomes {
		dur := ""
		if o.Status != Skipped {
			dur = o.Duration.Round(100 * time.Millisecond).String()
		}
		url := o.URL
		if url == "" && o.Error != "" {
			url = firstLine(o.Error)
		}
		row := []report.Cell{{Text: o.Tenant}, {Text: string(o.Status), Tone: o.Status.Tone()}, {Text: o.Version}, {Text: dur}, {Text: url}}
		if len(s.Waves) > 0 {
			w := "-"
			if o.Wave > 0 {
				w = fmt.Sprint(o.Wave)
			}
			row = append([]report.Cell{{Text: w}}, row...)
		}
		t.AddRow(row...)
	}
	return t
}

func (s Summary) countLine() string {
	c := s.Counts()
	var parts []string
	for _, st := range []Status{Succeeded, Unchanged, Failed, RolledBack, Interrupted, Skipped} {
		if c[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[st], st))
		}
	}
	for st, n := range c {
		switch st {
		case Succeeded, Unchanged, Failed, RolledBack, Interrupted, Skipped:
		default:
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	return strings.Join(parts, ", ")
}

// WriteText writes, for a person: the log excerpt of every failed tenant (each in one
// block, so parallel output never interleaves), then the table.
func (s Summary) WriteText(w io.Writer, colour bool) error {
	for _, o := range s.Failed() {
		if err := writeFailure(w, o); err != nil {
			return err
		}
	}
	if err := s.Table().Text(w, colour); err != nil {
		return err
	}
	// Buried in the progress lines otherwise: a first deploy is live without its secrets.
	for _, o := range s.Outcomes {
		if len(o.MissingSecrets) > 0 && o.Status.OK() {
			cmds := make([]string, len(o.MissingSecrets))
			for i, n := range o.MissingSecrets {
				cmds[i] = fmt.Sprintf("go tool mage secrets:put %s %s %s < value-file", o.Tenant, s.Env, n)
			}
			if _, err := fmt.Fprintf(w, "note: %s is live without its required secrets %s; set them: %s\n",
				o.Tenant, strings.Join(o.MissingSecrets, ", "), strings.Join(cmds, "; ")); err != nil {
				return err
			}
		}
	}
	return nil
}

// Markdown is the GitHub step summary: the table, then each failure's error.
func (s Summary) Markdown() string {
	var b bytes.Buffer
	_ = s.Table().Markdown(&b)
	for _, o := range s.Failed() {
		fmt.Fprintf(&b, "<details><summary>%s: %s</summary>\n\n```\n%s\n```\n\n</details>\n\n",
			o.Tenant, o.Status, strings.ReplaceAll(o.Error, "```", "'''"))
	}
	return b.String()
}

// logTail is how many lines of a failed tenant's wrangler log are shown; the path is
// printed for the rest.
const logTail = 40

func writeFailure(w io.Writer, o Outcome) error {
	var b strings.Builder
	fmt.Fprintf(&b, "── %s: %s ──\n", o.Tenant, o.Status)
	if o.Error != "" {
		b.WriteString(o.Error)
		b.WriteByte('\n')
	}
	if o.LogPath != "" {
		lines, total, err := tail(o.LogPath, logTail)
		switch {
		case err != nil:
			fmt.Fprintf(&b, "(wrangler log %s could not be read: %v)\n", o.LogPath, err)
		case total > len(lines):
			fmt.Fprintf(&b, "wrangler log %s (last %d of %d lines):\n", o.LogPath, len(lines), total)
		default:
			fmt.Fprintf(&b, "wrangler log %s:\n", o.LogPath)
		}
		for _, l := range lines {
			b.WriteString("  " + l + "\n")
		}
	}
	if o.RecordPath != "" {
		fmt.Fprintf(&b, "record: %s\n", o.RecordPath)
	}
	b.WriteByte('\n')
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("report failure of %s: %w", o.Tenant, err)
	}
	return nil
}

// tail returns the last n non-empty lines of a log file, ANSI escapes removed, and the
// count of all its non-empty lines.
func tail(path string, n int) ([]string, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var ring []string
	total := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		l := strings.TrimRight(report.StripANSI(sc.Text()), " \r")
		if l == "" {
			continue
		}
		total++
		ring = append(ring, l)
		if len(ring) > n {
			ring = ring[1:]
		}
	}
	return ring, total, sc.Err()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
