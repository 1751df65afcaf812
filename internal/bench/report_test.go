package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/browser"
	"github.com/rainbowsmoke/crispy-enigma/internal/htmlreport"
)

// Report measures report:html for o.ReportTenants synthetic tenants (two envs, a month of
// records each): the file's size, the time to render it in Go, and the time headless Chromium
// takes to load it and dump its DOM, beside the same run on a one-tenant report (Chromium's
// own start-up), all in one run.
func Report(ctx context.Context, o Options) ([]Figure, error) {
	o.defaults()
	dir, cleanup, err := workDir(o.Dir, "report")
	if err != nil {
		return nil, err
	}
	defer cleanup()
	c := browser.Chromium{Timeout: 5 * time.Minute}
	if err := c.Available(); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	write := func(n int) (string, int, time.Duration, error) {
		d := htmlreport.Synthetic(n, now, 14)
		start := time.Now()
		d.Compute(ctx, nil)
		var b bytes.Buffer
		if err := htmlreport.Render(&b, d); err != nil {
			return "", 0, 0, err
		}
		took := time.Since(start)
		p := filepath.Join(dir, fmt.Sprintf("report-%d.html", n))
		return p, b.Len(), took, os.WriteFile(p, b.Bytes(), 0o644)
	}
	fmt.Fprintf(o.Progress, "bench report:html: rendering %d tenants\n", o.ReportTenants)
	big, size, goTook, err := write(o.ReportTenants)
	if err != nil {
		return nil, err
	}
	small, _, _, err := write(1)
	if err != nil {
		return nil, err
	}
	var bigRuns, smallRuns []time.Duration
	for round := 1; round <= o.ReportRounds; round++ {
		fmt.Fprintf(o.Progress, "bench report:html: round %d/%d in headless chromium\n", round, o.ReportRounds)
		_, t, err := c.DumpDOM(ctx, small)
		if err != nil {
			return nil, err
		}
		smallRuns = append(smallRuns, t)
		dom, t, err := c.DumpDOM(ctx, big)
		if err != nil {
			return nil, err
		}
		if n := strings.Count(dom, `data-tenant="`); n != o.ReportTenants {
			return nil, fmt.Errorf("chromium's DOM has %d matrix rows, want %d", n, o.ReportTenants)
		}
		bigRuns = append(bigRuns, t)
	}
	shot := filepath.Join(dir, "shot.png")
	shotTook, err := c.Screenshot(ctx, big, shot, 1280, 2000)
	if err != nil {
		return nil, err
	}
	colours, err := browser.Colours(shot)
	if err != nil {
		return nil, err
	}
	mb, ms := median(bigRuns), median(smallRuns)
	return []Figure{
		{"report_html.tenants", fmt.Sprint(o.ReportTenants)},
		{"report_html.size", fmt.Sprintf("%d bytes (%.2f MB)", size, float64(size)/1e6)},
		{"report_html.go_render", seconds(goTook)},
		{"report_html.chromium_load.median", seconds(mb)},
		{"report_html.chromium_load_1_tenant.median", seconds(ms)},
		{"report_html.chromium_load_vs_1_tenant", ratio(mb, ms)},
		{"report_html.chromium_load.runs", list(bigRuns)},
		{"report_html.chromium_screenshot", seconds(shotTook) + fmt.Sprintf(" (%d distinct colours)", colours)},
	}, nil
}
