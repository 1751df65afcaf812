package validate

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Problem is one finding. Path is slash-separated and relative to the repository root; Line
// and Col are 1-based (Col counts bytes, like Go tools) and 0 when the problem has no place
// inside the file (a missing file).
type Problem struct {
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
	// Hint says how to fix it, when there is something specific to do.
	Hint string `json:"hint,omitempty"`
}

// String is the text form: path:line:col: rule: message.
func (p Problem) String() string {
	pos := p.Path
	if p.Line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", p.Path, p.Line, p.Col)
	}
	return pos + ": " + p.Rule + ": " + p.Message
}

func compareProblems(a, b Problem) int {
	return cmp.Or(
		cmp.Compare(a.Path, b.Path),
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.Col, b.Col),
		cmp.Compare(a.Rule, b.Rule),
		cmp.Compare(a.Message, b.Message),
	)
}

// Report is the result of one validation run.
type Report struct {
	// Tenants are the tenants that were checked, sorted.
	Tenants []string `json:"tenants"`
	// Problems are sorted by path, line, column and rule; never nil.
	Problems []Problem `json:"problems"`
}

// OK reports whether there were no problems.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Err is nil when the report is clean, else an error that counts the problems (for a mage
// target to return, so the exit code is 1).
func (r *Report) Err() error {
	if r.OK() {
		return nil
	}
	files := map[string]bool{}
	for _, p := range r.Problems {
		files[p.Path] = true
	}
	return fmt.Errorf("validate: %d problem(s) in %d file(s); fix them and run again", len(r.Problems), len(files))
}

// WriteText writes one line per problem, path:line:col: rule: message, each followed by an
// indented hint line when there is one, then a summary line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString(p.String())
		b.WriteByte('\n')
		if p.Hint != "" {
			b.WriteString("    hint: ")
			b.WriteString(p.Hint)
			b.WriteByte('\n')
		}
	}
	if r.OK() {
		fmt.Fprintf(&b, "ok: %d tenant(s) valid: %s\n", len(r.Tenants), strings.Join(r.Tenants, ", "))
	} else {
		fmt.Fprintf(&b, "%d problem(s) in %d tenant(s) checked\n", len(r.Problems), len(r.Tenants))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one indented JSON object:
// {"ok":bool,"tenants":[...],"problems":[{path,line,col,rule,message,hint?}]}.
func (r *Report) WriteJSON(w io.Writer) error {
	out := struct {
		OK bool `json:"ok"`
		*Report
	}{r.OK(), r}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
