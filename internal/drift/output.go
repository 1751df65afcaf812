package drift

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/rainbowsmoke/crispy-enigma/internal/report"
)

// Exit codes of `mage drift`: report's, named for drift.
const (
	ExitInSync = report.ExitOK
	ExitError  = report.ExitFailed
	ExitDrift  = report.ExitAttention
)

// ExitCode is 0 when every tenant is in sync, 2 when any drifted or is missing, and 1 when
// any could not be checked (an unchecked tenant might be drifted too, so errors win).
func ExitCode(reports []Report) int {
	code := ExitInSync
	for _, r := range reports {
		switch r.Status {
		case InSync:
		case Drifted, Missing:
			code = max(code, ExitDrift)
		default:
			return ExitError
		}
	}
	return code
}

// Summary is a one-line count such as "2 tenants: 1 in_sync, 1 drifted".
func Summary(reports []Report) string {
	counts := map[Status]int{}
	for _, r := range reports {
		counts[r.Status]++
	}
	var parts []string
	for _, s := range []Status{InSync, Drifted, Missing, Error} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	return fmt.Sprintf("%d tenant(s): %s", len(reports), strings.Join(parts, ", "))
}

func tone(s Status) report.Tone {
	switch s {
	case InSync:
		return report.Good
	case Drifted, Missing:
		return report.Warn
	default:
		return report.Bad
	}
}

// Table is one row per tenant: tenant, env, status, live version, number of changes.
func Table(reports []Report) report.Table {
	env := ""
	if len(reports) > 0 {
		env = reports[0].Env
	}
	t := report.Table{Title: fmt.Sprintf("drift %s: %s", env, Summary(reports)),
		Columns: []string{"tenant", "env", "status", "live version", "changes"}}
	for _, r := range reports {
		n := ""
		if r.Status == Drifted {
			n = fmt.Sprint(r.Changes.Count())
		}
		t.AddRow(report.Cell{Text: r.Tenant}, report.Cell{Text: r.Env}, report.Cell{Text: string(r.Status), Tone: tone(r.Status)},
			report.Cell{Text: r.LiveVersion}, report.Cell{Text: n})
	}
	return t
}

// details lists, per tenant that is not in sync, what differs: "+" only on Cloudflare,
// "-" only in the repository, "~" on both sides with different values.
func details(reports []Report) string {
	var b strings.Builder
	for _, r := range reports {
		switch r.Status {
		case Drifted:
			fmt.Fprintf(&b, "%s/%s (%s) drifted (+ only live, - only in the repository, ~ repository -> live):\n", r.Tenant, r.Env, r.Worker)
			for _, c := range r.Changes.Added {
				fmt.Fprintf(&b, "  + %s\n", c)
			}
			for _, c := range r.Changes.Removed {
				fmt.Fprintf(&b, "  - %s\n", c)
			}
			for _, c := range r.Changes.Changed {
				fmt.Fprintf(&b, "  ~ %s\n", c)
			}
		case Missing:
			fmt.Fprintf(&b, "%s/%s: %s is not deployed; run `mage deploy:tenant %s %s`\n", r.Tenant, r.Env, r.Worker, r.Tenant, r.Env)
		case Error:
			fmt.Fprintf(&b, "%s/%s: error: %s\n", r.Tenant, r.Env, r.Error)
		}
	}
	return b.String()
}

// WriteText writes the table, then what differs for every tenant not in sync.
func WriteText(w io.Writer, reports []Report, colour bool) error {
	if err := Table(reports).Text(w, colour); err != nil {
		return err
	}
	if d := details(reports); d != "" {
		if _, err := io.WriteString(w, "\n"+d); err != nil {
			return fmt.Errorf("drift: write report: %w", err)
		}
	}
	return nil
}

// WriteJSON writes the reports as one JSON array (the documented -json=true output).
func WriteJSON(w io.Writer, reports []Report) error {
	if reports == nil {
		reports = []Report{}
	}
	return report.JSON(w, reports)
}

// Markdown is the GitHub step summary: the table and the change list.
func Markdown(reports []Report) string {
	var b bytes.Buffer
	_ = Table(reports).Markdown(&b)
	if d := details(reports); d != "" {
		b.WriteString("```\n" + strings.ReplaceAll(d, "```", "'''") + "```\n\n")
	}
	return b.String()
}
