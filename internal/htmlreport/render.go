package htmlreport

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/fleetstatus"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/metrics"
)

// colours of states and statuses; the legend, the matrix and the charts share them.
var stateColour = map[fleetstatus.State]string{
	fleetstatus.StateOK: "#2e7d32", fleetstatus.StateSplit: "#1565c0", fleetstatus.StateDrifted: "#f9a825",
	fleetstatus.StateUnhealthy: "#ef6c00", fleetstatus.StateMissing: "#757575", fleetstatus.StateError: "#c62828",
	StateRecordedOK: "#66bb6a", StateRecordedFailed: "#e57373", StateNoRecords: "#bdbdbd",
}

var statusColour = map[history.Status]string{
	history.StatusSucceeded: "#2e7d32", history.StatusUnchanged: "#9e9e9e", history.StatusFailed: "#c62828",
	history.StatusRolledBack: "#ef6c00", history.StatusInterrupted: "#6a1b9a",
}

type cell struct {
	State    string
	Colour   string
	Versions string
	Href     string
	Title    string
}

type matrixRow struct {
	Tenant string
	Cells  []cell
}

type figure struct{ Name, Value string }

type envMetrics struct {
	Env     string
	Figures []figure
	Chart   template.HTML
}

type timeline struct {
	Tenant string
	SVG    template.HTML
}

type recordItem struct {
	When, Kind, Status, Version, Actor, SHA, Error, Href, Name string
}

type recordSection struct {
	ID, Tenant, Env string
	Total           int
	Items           []recordItem
}

type legendItem struct{ Name, Colour string }

// statusCSS gives every record status a class (.s-<status>) for dots and timeline marks, so
// each mark carries a short class rather than a colour of its own.
func statusCSS() template.CSS {
	var b strings.Builder
	for _, st := range slices.Sorted(maps.Keys(statusColour)) {
		c := statusColour[st]
		fmt.Fprintf(&b, ".s-%s{fill:%s;background:%s}", st, c, c)
	}
	return template.CSS(b.String())
}

type view struct {
	Title, Generated, Since, Source string
	Envs                            []string
	Legend                          []legendItem
	Counts                          string
	Matrix                          []matrixRow
	Metrics                         []envMetrics
	Timelines                       []timeline
	Sections                        []recordSection
	Skipped                         []skippedItem
	Fix                             string
	StatusCSS                       template.CSS
}

// skippedItem is one damaged record in the notice at the top of the report.
type skippedItem struct {
	Name, Href, Reason string
}

// Render writes the report as one HTML document.
func Render(w io.Writer, d Data) error {
	v := build(d)
	var b bytes.Buffer
	if err := page.Execute(&b, v); err != nil {
		return fmt.Errorf("htmlreport: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func sectionID(tenant, env string) string { return "rec-" + tenant + "-" + env }

func build(d Data) view {
	link := d.Link
	if link == nil {
		link = func(p string) string { return p }
	}
	v := view{StatusCSS: statusCSS(), Title: d.Title, Generated: d.Generated.UTC().Format("2006-01-02 15:04 UTC"), Since: d.Since.UTC().Format("2006-01-02"), Envs: d.Envs}
	if v.Title == "" {
		v.Title = "Fleet report"
	}
	v.Fix = history.Fix(d.Skipped...)
	for _, sk := range d.Skipped {
		v.Skipped = append(v.Skipped, skippedItem{Name: sk.File, Href: link(sk.Path), Reason: sk.Reason})
	}
	v.Source = "state read from the records only (offline)"
	if d.Live {
		v.Source = "state read live from the API at generation time"
	}
	byKey := map[string]fleetstatus.Row{}
	counts := map[fleetstatus.State]int{}
	for _, r := range d.Rows {
		byKey[r.Tenant+"/"+r.Env] = r
		counts[r.State]++
	}
	var parts []string
	for _, s := range []fleetstatus.State{fleetstatus.StateOK, fleetstatus.StateSplit, fleetstatus.StateDrifted, fleetstatus.StateUnhealthy,
		fleetstatus.StateMissing, fleetstatus.StateError, StateRecordedOK, StateRecordedFailed, StateNoRecords} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
			v.Legend = append(v.Legend, legendItem{string(s), stateColour[s]})
		}
	}
	v.Counts = fmt.Sprintf("%d tenant(s) × %d env(s): %s", len(d.Tenants), len(d.Envs), strings.Join(parts, ", "))

	for _, t := range d.Tenants {
		mr := matrixRow{Tenant: t}
		for _, e := range d.Envs {
			r, ok := byKey[t+"/"+e]
			c := cell{State: "not read", Colour: "#eeeeee", Href: "#" + sectionID(t, e)}
			if ok {
				c.State, c.Colour, c.Versions = string(r.State), stateColour[r.State], fleetstatus.Versions(r.Versions)
				var tip []string
				if r.Deployed != nil {
					tip = append(tip, fmt.Sprintf("deployed by %s at %s", r.Deployed.Actor, r.Deployed.At.UTC().Format(time.RFC3339)))
				}
				if r.LastFailure != nil {
					tip = append(tip, fmt.Sprintf("last failure %s %s", r.LastFailure.Status, r.LastFailure.At.UTC().Format(time.RFC3339)))
				}
				if r.Error != "" {
					tip = append(tip, r.Error)
				}
				c.Title = strings.Join(tip, "; ")
			}
			mr.Cells = append(mr.Cells, c)
		}
		v.Matrix = append(v.Matrix, mr)
	}

	for _, s := range d.Metrics.Fleet {
		v.Metrics = append(v.Metrics, envMetrics{Env: s.Env, Figures: figures(s), Chart: perDay(d, s.Env)})
	}

	for _, t := range d.Tenants {
		v.Timelines = append(v.Timelines, timeline{Tenant: t, SVG: strip(d, t)})
	}

	for _, e := range d.Envs {
		for _, t := range d.Tenants {
			es := d.Records[t+"/"+e]
			sec := recordSection{ID: sectionID(t, e), Tenant: t, Env: e, Total: len(es)}
			for _, en := range es[:min(len(es), MaxListed)] {
				r := en.Record
				sha := r.GitSHA
				if len(sha) > 12 {
					sha = sha[:12]
				}
				sec.Items = append(sec.Items, recordItem{When: r.FinishedAt.UTC().Format("2006-01-02 15:04:05"), Kind: string(r.Kind),
					Status: string(r.Status), Version: r.VersionID, Actor: r.Actor, SHA: sha,
					Error: r.Error, Href: link(en.Path), Name: baseName(en.Path)})
			}
			v.Sections = append(v.Sections, sec)
		}
	}
	return v
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func figures(s metrics.Stats) []figure {
	pct := func(p *float64) string {
		if p == nil {
			return "–"
		}
		return fmt.Sprintf("%.1f%%", *p*100)
	}
	dur := func(sec *float64) string {
		if sec == nil {
			return "–"
		}
		return metrics.Human(time.Duration(*sec * float64(time.Second)))
	}
	ms := func(v *int64) string {
		if v == nil {
			return "–"
		}
		return metrics.Human(time.Duration(*v) * time.Millisecond)
	}
	return []figure{
		{"deploys (ok / tried)", fmt.Sprintf("%d / %d", s.Succeeded, s.Attempts)},
		{"success rate", pct(s.SuccessRate)},
		{"deploys per week", fmt.Sprintf("%.1f", s.DeploysPerWeek)},
		{"lead time (median)", dur(s.LeadTime.MedianSeconds)},
		{"change failure rate", fmt.Sprintf("%s (%d of %d)", pct(s.ChangeFailure.Rate), s.ChangeFailure.Failed, s.ChangeFailure.Changes)},
		{"time to restore (median)", dur(s.Restore.MedianSeconds)},
		{"deploy duration p50 / p95", ms(s.Duration.P50MS) + " / " + ms(s.Duration.P95MS)},
	}
}

// dayCount is one calendar day (UTC) of the per-day chart: its deploy attempts by outcome.
type dayCount struct {
	Day time.Time // 00:00 UTC
	// Succeeded, FailedOrRolledBack and Interrupted add up to the day's attempts (deploy
	// records but unchanged). Interrupted runs (Ctrl-C, SIGTERM, a rollout left split) are
	// counted apart: they did not fail, and nothing was rolled back.
	Succeeded, FailedOrRolledBack, Interrupted int
}

func (c dayCount) total() int { return c.Succeeded + c.FailedOrRolledBack + c.Interrupted }

func utcDay(t time.Time) time.Time {
	y, m, dd := t.UTC().Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
}

// perDayCounts buckets env's deploy attempts of the window [d.Since, d.Generated] by the
// calendar day (UTC) they finished on, one entry per day from the window's first day to its
// last, both included (partial days), empty days too.
func perDayCounts(d Data, env string) []dayCount {
	first, last := utcDay(d.Since), utcDay(d.Generated)
	var per []dayCount
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		per = append(per, dayCount{Day: day})
	}
	if len(per) == 0 { // Generated before Since: one empty day rather than no chart
		per = []dayCount{{Day: first}}
	}
	for k, es := range d.Records {
		if !strings.HasSuffix(k, "/"+env) {
			continue
		}
		for _, e := range es {
			r := e.Record
			if r.Kind != history.KindDeploy || r.Status == history.StatusUnchanged || r.FinishedAt.Before(d.Since) || r.FinishedAt.After(d.Generated) {
				continue
			}
			// UTC days are all 24 h long: the difference in hours is exact.
			c := &per[min(len(per)-1, int(utcDay(r.FinishedAt).Sub(first).Hours()/24))]
			switch r.Status {
			case history.StatusSucceeded:
				c.Succeeded++
			case history.StatusInterrupted:
				c.Interrupted++
			default: // failed, rolled_back
				c.FailedOrRolledBack++
			}
		}
	}
	return per
}

// perDay is a bar chart of deploy attempts per calendar day (UTC) in the window, stacked by
// outcome: succeeded, failed or rolled back, interrupted.
func perDay(d Data, env string) template.HTML {
	per := perDayCounts(d, env)
	peak := 1
	for _, c := range per {
		peak = max(peak, c.total())
	}
	const w, h = 360, 80
	bw := float64(w) / float64(len(per))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="deploy attempts per day (UTC) in %s: succeeded, failed or rolled back, interrupted">`,
		w, h+28, w, h+28, html.EscapeString(env))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#fafafa" stroke="#e0e0e0"/>`, w, h)
	segments := []struct {
		n      func(dayCount) int
		name   string
		colour string
	}{
		{func(c dayCount) int { return c.Succeeded }, "succeeded", statusColour[history.StatusSucceeded]},
		{func(c dayCount) int { return c.FailedOrRolledBack }, "failed or rolled back", statusColour[history.StatusFailed]},
		{func(c dayCount) int { return c.Interrupted }, "interrupted", statusColour[history.StatusInterrupted]},
	}
	for i, c := range per {
		if c.total() == 0 {
			continue
		}
		x := float64(i) * bw
		// One title for the day's whole bar: its date and every count, zeros included.
		fmt.Fprintf(&b, `<g><title>%s: %d succeeded, %d failed or rolled back, %d interrupted</title>`,
			c.Day.Format("2006-01-02"), c.Succeeded, c.FailedOrRolledBack, c.Interrupted)
		y := float64(h)
		for _, sg := range segments {
			n := sg.n(c)
			if n == 0 {
				continue
			}
			sh := float64(n) / float64(peak) * (h - 4)
			y -= sh
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, x+0.5, y, max(bw-1, 0.5), sh, sg.colour)
		}
		b.WriteString(`</g>`)
	}
	fmt.Fprintf(&b, `<text x="0" y="%d" font-size="10" fill="#555">%s</text><text x="%d" y="%d" font-size="10" fill="#555" text-anchor="end">%s (peak %d/day)</text>`,
		h+12, per[0].Day.Format("Jan 2"), w, h+12, per[len(per)-1].Day.Format("Jan 2"), peak)
	x := 0
	for _, sg := range segments {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="8" height="8" fill="%s"/><text x="%d" y="%d" font-size="10" fill="#555">%s</text>`,
			x, h+18, sg.colour, x+11, h+26, sg.name)
		x += 11 + 5*len(sg.name) + 14 // about 5 px a character at font-size 10
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // #nosec: built from numbers, dates and escaped names only
}

// strip is a tenant's timeline: one lane per env, one mark per record in the window.
func strip(d Data, tenant string) template.HTML {
	const w, lane = 600, 14
	span := d.Generated.Sub(d.Since).Seconds()
	var b strings.Builder
	hgt := lane * len(d.Envs)
	fmt.Fprintf(&b, `<svg class="strip" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="deploy timeline of %s">`,
		w+80, hgt, w+80, hgt, html.EscapeString(tenant))
	for i, env := range d.Envs {
		y := i*lane + lane/2
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="10" fill="#555" dominant-baseline="middle">%s</text>`, y, html.EscapeString(env))
		fmt.Fprintf(&b, `<line x1="80" y1="%d" x2="%d" y2="%d" stroke="#e0e0e0"/>`, y, w+80, y)
		// One link per lane, not per mark: 500 tenants × a month of marks stays a few MB.
		fmt.Fprintf(&b, `<a href="#%s">`, sectionID(tenant, env))
		for _, e := range d.Records[tenant+"/"+env] {
			r := e.Record
			if r.FinishedAt.Before(d.Since) || r.FinishedAt.After(d.Generated) || span <= 0 {
				continue
			}
			x := 80 + r.FinishedAt.Sub(d.Since).Seconds()/span*w
			tip := r.FinishedAt.UTC().Format("Jan 2 15:04") + " " + html.EscapeString(string(r.Status))
			if r.Kind == history.KindRollback {
				fmt.Fprintf(&b, `<rect class="s-%s" x="%.0f" y="%d" width="7" height="7"><title>rollback %s</title></rect>`, html.EscapeString(string(r.Status)), x-3.5, y-3, tip)
			} else {
				fmt.Fprintf(&b, `<circle class="s-%s" cx="%.0f" cy="%d" r="4"><title>%s</title></circle>`, html.EscapeString(string(r.Status)), x, y, tip)
			}
		}
		b.WriteString(`</a>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers, dates and escaped strings only
}
