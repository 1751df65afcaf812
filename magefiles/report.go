//go:build mage

package main

import (
	"context"
	"fmt"
	"os"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/htmlreport"
)

// Report writes reports about the fleet.
type Report mg.Namespace

// HTML writes the fleet as one static HTML file: states, timelines, metrics, records.
//
// Usage: report:html [-out=.state/fleet-report.html] [-since=30d] [-offline=true]. The file
// has no scripts or external assets and opens from disk. By default the states are read live
// (as fleet:status all); -offline=true builds them from the records alone, with no API request.
// A damaged record is left out and named in a notice at the top and on stderr (still exit 0).
func (Report) HTML(ctx context.Context,
	out *string, // the file to write (default .state/fleet-report.html)
	since *string, // how far back the timelines and metrics go: 30d, 2w, 12h or a date
	offline *bool, // build the states from the records alone, with no API request
) error {
	ctx, stop := stoppable(ctx)
	defer stop()
	ws, log, err := setup()
	if err != nil {
		return err
	}
	sharedRecords(ctx, ws, log)
	path, err := htmlreport.Command(ctx, ws, log, htmlreport.Request{
		Out: flag(out, ""), Since: flag(since, "30d"), Offline: flag(offline, false),
	}, os.Stderr)
	if err != nil {
		return err
	}
	fmt.Println(path)
	return nil
}
