package htmlreport

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
)

// perDayCase is a window and its records (tenant a, production unless the key says otherwise).
type perDayCase struct {
	name             string
	since, generated time.Time
	recs             map[string][]history.Record
	// bars are the titles of the days with attempts, oldest first; first and last the axis.
	bars        []string
	days        int
	first, last string
}

func utc(mo time.Month, d, hh, mm int) time.Time {
	return time.Date(2026, mo, d, hh, mm, 0, 0, time.UTC)
}

func deployAt(st history.Status, at time.Time) history.Record {
	return history.Record{Kind: history.KindDeploy, Status: st, StartedAt: at.Add(-time.Minute), FinishedAt: at}
}

func perDayCases() []perDayCase {
	s, F, R, I, U := history.StatusSucceeded, history.StatusFailed, history.StatusRolledBack, history.StatusInterrupted, history.StatusUnchanged
	plus2 := time.FixedZone("UTC+2", 2*3600)
	return []perDayCase{
		{
			name: "30 days to noon: a deploy of Dec 1 is Dec 1's, the first and last partial days are kept",
			// -since=30d at 2026-12-01 12:00 UTC: the window starts at Nov 1 12:00.
			since: utc(11, 1, 12, 0), generated: utc(12, 1, 12, 0),
			recs: map[string][]history.Record{
				"a/production": {
					deployAt(s, utc(11, 1, 11, 0)), // before the window
					deployAt(s, utc(11, 1, 13, 0)),
					deployAt(F, utc(11, 15, 23, 59)),
					deployAt(R, utc(11, 16, 0, 0)),
					deployAt(I, utc(11, 16, 0, 30)),
					deployAt(U, utc(11, 16, 1, 0)),                                         // not an attempt
					{Kind: history.KindRollback, Status: s, FinishedAt: utc(11, 16, 2, 0)}, // not a deploy
					deployAt(s, time.Date(2026, 12, 1, 1, 0, 0, 0, plus2)),                 // Nov 30 23:00 UTC
					deployAt(s, utc(12, 1, 0, 0)),
					deployAt(I, utc(12, 1, 9, 0)),
					deployAt(s, utc(12, 1, 9, 30)),
					deployAt(s, utc(12, 1, 12, 1)), // after the report
				},
				"b/production": {deployAt(F, utc(12, 1, 10, 0))},
				"a/staging":    {deployAt(s, utc(11, 20, 10, 0))}, // another env
			},
			bars: []string{
				"2026-11-01: 1 succeeded, 0 failed or rolled back, 0 interrupted",
				"2026-11-15: 0 succeeded, 1 failed or rolled back, 0 interrupted",
				"2026-11-16: 0 succeeded, 1 failed or rolled back, 1 interrupted",
				"2026-11-30: 1 succeeded, 0 failed or rolled back, 0 interrupted",
				"2026-12-01: 2 succeeded, 1 failed or rolled back, 1 interrupted",
			},
			days: 31, first: "Nov 1", last: "Dec 1",
		},
		{
			name:  "12 hours across midnight are two days",
			since: utc(11, 30, 18, 0), generated: utc(12, 1, 6, 0),
			recs: map[string][]history.Record{"a/production": {deployAt(s, utc(11, 30, 23, 0)), deployAt(s, utc(12, 1, 5, 0))}},
			bars: []string{
				"2026-11-30: 1 succeeded, 0 failed or rolled back, 0 interrupted",
				"2026-12-01: 1 succeeded, 0 failed or rolled back, 0 interrupted",
			},
			days: 2, first: "Nov 30", last: "Dec 1",
		},
		{
			name:  "a window from midnight to midnight ends with the last midnight's day",
			since: utc(11, 1, 0, 0), generated: utc(11, 3, 0, 0),
			recs: map[string][]history.Record{"a/production": {deployAt(s, utc(11, 1, 0, 0)), deployAt(F, utc(11, 3, 0, 0))}},
			bars: []string{
				"2026-11-01: 1 succeeded, 0 failed or rolled back, 0 interrupted",
				"2026-11-03: 0 succeeded, 1 failed or rolled back, 0 interrupted",
			},
			days: 3, first: "Nov 1", last: "Nov 3",
		},
	}
}

func (c perDayCase) data() Data {
	d := Data{Since: c.since, Generated: c.generated, Records: map[string][]history.Entry{}}
	for k, rs := range c.recs {
		for _, r := range rs {
			d.Records[k] = append(d.Records[k], history.Entry{Record: r})
		}
	}
	return d
}

var barTitle = regexp.MustCompile(`<title>([^<]*)</title>`)

// TestPerDayChart: the bars of the rendered chart are labelled with the calendar day (UTC)
// their deploys finished on.
func TestPerDayChart(t *testing.T) {
	for _, c := range perDayCases() {
		t.Run(c.name, func(t *testing.T) {
			svg := string(perDay(c.data(), "production"))
			var got []string
			for _, m := range barTitle.FindAllStringSubmatch(svg, -1) {
				got = append(got, m[1])
			}
			if !slices.Equal(got, c.bars) {
				t.Errorf("bars:\n got %q\nwant %q", got, c.bars)
			}
			axis := fmt.Sprintf(`fill="#555">%s</text>`, c.first)
			if !strings.Contains(svg, axis) || !strings.Contains(svg, fmt.Sprintf(`>%s (peak `, c.last)) {
				t.Errorf("axis: want %s … %s in %s", c.first, c.last, svg)
			}
			if !strings.Contains(svg, "failed or rolled back</text>") || !strings.Contains(svg, "interrupted</text>") {
				t.Errorf("the chart's legend lacks its outcomes: %s", svg)
			}
		})
	}
}

// TestPerDayCounts: one bucket per calendar day of the window, first and last included.
func TestPerDayCounts(t *testing.T) {
	for _, c := range perDayCases() {
		t.Run(c.name, func(t *testing.T) {
			per := perDayCounts(c.data(), "production")
			if len(per) != c.days {
				t.Fatalf("%d days, want %d", len(per), c.days)
			}
			for i, p := range per {
				if want := utcDay(c.since).AddDate(0, 0, i); !p.Day.Equal(want) {
					t.Errorf("day %d is %s, want %s", i, p.Day, want)
				}
			}
			if f, l := per[0].Day.Format("Jan 2"), per[len(per)-1].Day.Format("Jan 2"); f != c.first || l != c.last {
				t.Errorf("days %s … %s, want %s … %s", f, l, c.first, c.last)
			}
		})
	}
}
