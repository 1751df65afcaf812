//go:build mage

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/magefile/mage/mg"

	"github.com/rainbowsmoke/crispy-enigma/internal/htmlreport"
)

// Report writes reports about the fleet.
type Report mg.Namespace

// HTML writes the fleet as one static HTML file: state matrix, timelines, delivery metrics, records.
//
// Usage: report:html [-out=.state/fleet-report.html] [-since=30d] [-offline=true]. The file
// has no scripts or external assets and opens from disk. By default the states are read live
// (as fleet:status all); -offline=true builds them from the records alone, with no API request.
func (Report) HTML(ctx context.Context, out *string, since *string, offline *bool) error {
	// Mage cancels ctx on Ctrl-C only; CI runners stop jobs with SIGTERM.
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	ws, log, err := setup()
	if err != nil {
		return err
	}
	path, err := htmlreport.Command(ctx, ws, log, htmlreport.Request{
		Out: flag(out, ""), Since: flag(since, "30d"), Offline: flag(offline, false),
	}, os.Stderr)
	if err != nil {
		return err
	}
	fmt.Println(path)
	return nil
}
