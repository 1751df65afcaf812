package htmlreport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/atomicfile"
	"github.com/rainbowsmoke/crispy-enigma/internal/fleetstatus"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/metrics"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/workspace"
)

// DefaultOut is where report:html writes when -out is not given (.state is git-ignored).
const DefaultOut = ".state/fleet-report.html"

// Request is one `mage report:html` call.
type Request struct {
	Out     string // "" means DefaultOut under the workspace root
	Since   string // metrics window, e.g. 30d
	Offline bool   // states from the records only; no API request
	Now     time.Time
}

// Command builds the report of the workspace's fleet (staging and production) and writes it
// atomically to r.Out, returning the path written. A damaged record does not stop it: the
// report is built from the other records with a notice naming it, and stderr gets a warning.
func Command(ctx context.Context, ws workspace.Workspace, log *slog.Logger, r Request, stderr io.Writer) (string, error) {
	if r.Now.IsZero() {
		r.Now = time.Now()
	}
	since, err := metrics.ParseSince(r.Since, r.Now)
	if err != nil {
		return "", fmt.Errorf("report:html: %w", err)
	}
	out := r.Out
	if out == "" {
		out = filepath.Join(ws.Root, DefaultOut)
	}
	if filepath.Ext(out) != ".html" && filepath.Ext(out) != ".htm" {
		return "", fmt.Errorf("report:html: -out=%s: the report is one HTML file; name it *.html", out)
	}
	names, err := tenant.List(ws)
	if err != nil {
		return "", fmt.Errorf("report:html: %w", err)
	}
	read, err := history.Open(ws.DeploymentsDir()).Readable()
	if err != nil {
		return "", fmt.Errorf("report:html: %w", err)
	}
	var skipped []history.Damaged
	for _, e := range []tenant.Env{tenant.Staging, tenant.Production} {
		skipped = append(skipped, read.Of("", string(e)).Damaged...)
	}
	for _, sk := range skipped {
		fmt.Fprintf(stderr, "warning: report:html: %s\n", sk.Warning())
	}
	records, recorded := Group(read.Entries)
	tenants := slices.Clone(names)
	for _, t := range recorded {
		if !slices.Contains(tenants, t) {
			tenants = append(tenants, t) // removed from tenants/, but its history stays visible
		}
	}
	slices.Sort(tenants)
	envs := []string{string(tenant.Staging), string(tenant.Production)}

	d := Data{Title: "Fleet report", Generated: r.Now.UTC(), Since: since.UTC(), Tenants: tenants, Envs: envs, Records: records, Skipped: skipped, Link: RelativeLink(out)}
	if r.Offline || len(names) == 0 {
		d.Rows = OfflineRows(tenants, envs, records)
	} else {
		src, err := fleetstatus.Resolve(ctx, ws, log, stderr)
		if err != nil {
			return "", fmt.Errorf("report:html: %w (or -offline=true for a report from the records alone)", err)
		}
		fmt.Fprintf(stderr, "report:html: reading %d tenant(s) in staging and production\n", len(names))
		d.Rows = fleetstatus.Collect(ctx, src.Options(names, []tenant.Env{tenant.Staging, tenant.Production}))
		d.Live = true
		if len(tenants) > len(names) {
			// Tenants known only from records have no live state to read.
			for _, r := range OfflineRows(tenants, envs, records) {
				if !slices.Contains(names, r.Tenant) {
					d.Rows = append(d.Rows, r)
				}
			}
		}
	}
	d.Compute(ctx, metrics.GitCommits(ws.Root))

	var b bytes.Buffer
	if err := Render(&b, d); err != nil {
		return "", err
	}
	if err := writeReport(out, b.Bytes()); err != nil {
		return "", fmt.Errorf("report:html: %w", err)
	}
	return out, nil
}

// writeReport replaces the report in one step (a browser tab reloading never sees half a
// report), readable by everyone like any file a browser opens.
func writeReport(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, data, atomicfile.Options{Perm: 0o644})
}
