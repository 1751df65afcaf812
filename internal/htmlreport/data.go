package htmlreport

import (
	"cmp"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/fleetstatus"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/metrics"
)

// Data is everything one report shows.
type Data struct {
	Title     string
	Generated time.Time
	Since     time.Time
	// Live says the states were read from Cloudflare just now; false means from records only.
	Live    bool
	Tenants []string
	Envs    []string
	Rows    []fleetstatus.Row
	// Records per "tenant/env", newest first.
	Records map[string][]history.Entry
	// Skipped are the damaged record files left out of Records; the report shows a notice
	// naming each one.
	Skipped []history.Damaged
	Metrics metrics.Result
	// Link turns a record file's path into the href the report uses for it (relative to where
	// the report is written); nil keeps paths as they are.
	Link func(path string) string
}

// MaxListed is how many of a tenant/env's newest records the report lists (the timeline
// shows every one in the window).
const MaxListed = 5

// Offline states: the matrix from records alone, when no API is asked.
const (
	StateRecordedOK     fleetstatus.State = "last_ok"
	StateRecordedFailed fleetstatus.State = "last_failed"
	StateNoRecords      fleetstatus.State = "no_records"
)

// OfflineRows builds the matrix rows from records only: the newest record's outcome and
// version, who deployed what is recorded as live, and the last failure.
func OfflineRows(tenants, envs []string, records map[string][]history.Entry) []fleetstatus.Row {
	var rows []fleetstatus.Row
	for _, e := range envs {
		for _, t := range tenants {
			row := fleetstatus.Row{Tenant: t, Env: e, State: StateNoRecords, Versions: []fleetstatus.Share{}}
			es := records[t+"/"+e]
			row.Records = len(es)
			var liveVersion string
			for _, en := range es {
				if en.Record.Status == history.StatusSucceeded && en.Record.VersionID != "" {
					liveVersion = en.Record.VersionID
					row.Worker = en.Record.WorkerName
					d := en
					row.Deployed = &fleetstatus.Attempt{Kind: d.Record.Kind, Status: d.Record.Status, VersionID: d.Record.VersionID,
						Actor: d.Record.Actor, GitSHA: d.Record.GitSHA, At: d.Record.FinishedAt, Record: d.Path}
					break
				}
			}
			if liveVersion != "" {
				row.Versions = []fleetstatus.Share{{VersionID: liveVersion, Percentage: 100}}
			}
			for _, en := range es {
				switch en.Record.Status {
				case history.StatusFailed, history.StatusRolledBack, history.StatusInterrupted:
					r := en.Record
					row.LastFailure = &fleetstatus.Attempt{Kind: r.Kind, Status: r.Status, VersionID: r.VersionID, Actor: r.Actor,
						GitSHA: r.GitSHA, At: r.FinishedAt, Error: r.Error, Record: en.Path}
				}
				if row.LastFailure != nil {
					break
				}
			}
			if len(es) > 0 {
				switch es[0].Record.Status {
				case history.StatusSucceeded, history.StatusUnchanged:
					row.State = StateRecordedOK
				default:
					row.State = StateRecordedFailed
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// Group returns records by "tenant/env", newest first, and the tenants seen.
func Group(entries []history.Entry) (map[string][]history.Entry, []string) {
	out := map[string][]history.Entry{}
	seen := map[string]bool{}
	var tenants []string
	for _, e := range entries {
		k := e.Record.Tenant + "/" + e.Record.Env
		out[k] = append(out[k], e)
		if !seen[e.Record.Tenant] {
			seen[e.Record.Tenant] = true
			tenants = append(tenants, e.Record.Tenant)
		}
	}
	for _, es := range out {
		slices.SortStableFunc(es, func(a, b history.Entry) int {
			return cmp.Or(b.Record.FinishedAt.Compare(a.Record.FinishedAt), strings.Compare(b.Path, a.Path))
		})
	}
	slices.Sort(tenants)
	return out, tenants
}

// RelativeLink makes record paths relative to the folder the report is written to, with
// forward slashes, so links work when the file is opened from disk.
func RelativeLink(outFile string) func(string) string {
	dir := filepath.Dir(outFile)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return func(p string) string {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if r, err := filepath.Rel(dir, p); err == nil {
			return filepath.ToSlash(r)
		}
		return filepath.ToSlash(p)
	}
}

// Compute fills d.Metrics from d.Records over [d.Since, d.Generated].
func (d *Data) Compute(ctx context.Context, commits metrics.Commits) {
	var recs []history.Record
	for _, es := range d.Records {
		for _, e := range es {
			recs = append(recs, e.Record)
		}
	}
	d.Metrics = metrics.Compute(ctx, recs, metrics.Options{Since: d.Since, Until: d.Generated, Commits: commits})
}
