package metrics

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/report"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
)

// Request is one `mage history:stats <tenant|all> <env|all>` call, its arguments parsed by
// the caller.
type Request struct {
	// Tenant is the one tenant to show, or "" for every tenant; Env the one env, or "" for
	// every env (all, on the command line).
	Tenant tenant.Name
	Env    tenant.Env
	Since  string // -since, e.g. 30d
	Now    time.Time
	// Dir is the records folder; Root the git checkout for commit times.
	Dir, Root string
	JSON      bool
	// Stderr gets a warning per damaged record the metrics exclude; nil discards them.
	Stderr io.Writer
}

// Run computes the metrics of the records in r.Dir and writes them to w:
// a table, or with r.JSON the Result as one JSON document. A damaged record of the asked
// tenants/envs does not stop it: the metrics are of the good records, Result.Skipped lists
// the damaged ones, the table says it excludes them and r.Stderr gets a warning for each.
func Run(ctx context.Context, w io.Writer, r Request) (Result, error) {
	if r.Now.IsZero() {
		r.Now = time.Now()
	}
	since, err := ParseSince(r.Since, r.Now)
	if err != nil {
		return Result{}, fmt.Errorf("history:stats: %w", err)
	}
	all, err := history.Open(r.Dir).Readable()
	if err != nil {
		return Result{}, fmt.Errorf("history:stats: %w", err)
	}
	read := all.Of(string(r.Tenant), string(r.Env))
	recs := make([]history.Record, 0, len(read.Entries))
	for _, e := range read.Entries {
		recs = append(recs, e.Record)
	}
	res := Compute(ctx, recs, Options{Since: since.UTC(), Until: r.Now.UTC(), Commits: GitCommits(r.Root)})
	res.Skipped = append([]history.Damaged{}, read.Damaged...)
	if r.Stderr != nil {
		for _, d := range res.Skipped {
			fmt.Fprintln(r.Stderr, "warning: history:stats: "+d.Warning())
		}
	}
	if r.JSON {
		return res, report.JSON(w, res)
	}
	if len(res.Groups) == 0 {
		_, err := fmt.Fprintf(w, "history:stats: no records for %s/%s in %s\n", orAll(string(r.Tenant)), orAll(string(r.Env)), r.Dir)
		if err == nil {
			err = excluded(w, res.Skipped)
		}
		return res, err
	}
	if err := Table(res).Text(w, report.Colour(w)); err != nil {
		return res, err
	}
	return res, excluded(w, res.Skipped)
}

// orAll is a Request's tenant or env as the command line gives it: "" is all.
func orAll(s string) string {
	if s == "" {
		return "all"
	}
	return s
}

// excluded says under the table which damaged records the metrics leave out.
func excluded(w io.Writer, skipped []history.Damaged) error {
	if len(skipped) == 0 {
		return nil
	}
	names := make([]string, len(skipped))
	for i, d := range skipped {
		names[i] = d.File
	}
	_, err := fmt.Fprintf(w, "these metrics exclude %d damaged record(s): %s; %s\n", len(skipped), strings.Join(names, ", "), history.Fix(skipped...))
	return err
}

// Table is one row per tenant/env, then one fleet row per env.
func Table(res Result) report.Table {
	t := report.Table{
		Title: fmt.Sprintf("delivery metrics %s → %s (UTC)", res.Since.Format("2006-01-02 15:04"), res.Until.Format("2006-01-02 15:04")),
		Columns: []string{"tenant", "env", "deploys ok/tried", "success", "per week", "lead time p50",
			"change failure", "restore p50", "duration p50", "p95"},
	}
	row := func(name string, s Stats) {
		t.AddRow(report.Cell{Text: name}, report.Cell{Text: s.Env},
			report.Cell{Text: fmt.Sprintf("%d/%d", s.Succeeded, s.Attempts)},
			report.Cell{Text: pct(s.SuccessRate), Tone: rateTone(s.SuccessRate, 0.95, true)},
			report.Cell{Text: fmt.Sprintf("%.1f", s.DeploysPerWeek)},
			report.Cell{Text: dur(s.LeadTime.MedianSeconds)},
			report.Cell{Text: fmt.Sprintf("%s (%d/%d)", pct(s.ChangeFailure.Rate), s.ChangeFailure.Failed, s.ChangeFailure.Changes), Tone: rateTone(s.ChangeFailure.Rate, 0.15, false)},
			report.Cell{Text: restore(s.Restore)},
			report.Cell{Text: ms(s.Duration.P50MS)}, report.Cell{Text: ms(s.Duration.P95MS)})
	}
	for _, s := range res.Groups {
		row(s.Tenant, s)
	}
	for _, s := range res.Fleet {
		row("(fleet)", s)
	}
	return t
}

func pct(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", *v*100)
}

// rateTone colours a rate against its goal: the brief's > 95 % success, Four Keys' < 15 %
// change failure.
func rateTone(v *float64, goal float64, higherIsBetter bool) report.Tone {
	if v == nil {
		return report.Calm
	}
	if (higherIsBetter && *v >= goal) || (!higherIsBetter && *v < goal) {
		return report.Good
	}
	return report.Bad
}

func dur(sec *float64) string {
	if sec == nil {
		return "-"
	}
	return Human(time.Duration(*sec * float64(time.Second)))
}

func ms(v *int64) string {
	if v == nil {
		return "-"
	}
	return Human(time.Duration(*v) * time.Millisecond)
}

func restore(r Restore) string {
	s := dur(r.MedianSeconds)
	if r.Open > 0 {
		s += fmt.Sprintf(" (%d open)", r.Open)
	}
	return s
}

// Human is a duration rounded for people: 42s, 3m10s, 5h20m, 2d4h.
func Human(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	days := int(d / (24 * time.Hour))
	return fmt.Sprintf("%dd%dh", days, int((d-time.Duration(days)*24*time.Hour)/time.Hour))
}
