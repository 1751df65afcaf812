package deploy

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// Issue 21 item 3, a record that always fits: the records folder stops taking new files after
// the reservation (a disk that fills up during the deploy). The run still keeps its ending
// (succeeded, the version id) in the space its reservation holds, fails loudly because its
// record could not be written, and the next run writes that record as it ended: succeeded,
// with the version, not "never verified".
func TestRecordsFolderFullAfterTheReservation(t *testing.T) {
	w := newWorld(t)
	const tn, worker = "rainbowsmokeofficial", "rainbowsmokeofficial-api-staging"
	w.firstDeploy(t, tn, worker)
	w.bumpCode(t, "fullrecords")
	dir := w.ws.DeploymentsDir()
	hook := &syncHook{trigger: ": lock ", fn: func() { testrepo.Unwritable(t, dir) }}
	out, err := Run(context.Background(), w.opts(t, tn, "staging", hook))
	if err == nil || out.RecordFile != "" {
		t.Fatalf("a record was written into a folder that takes no new files: %v %s", err, out.RecordFile)
	}
	v2 := w.live(t, tn, worker)
	if out.Record.Status != history.StatusSucceeded || out.Record.VersionID != v2 || !strings.Contains(err.Error(), "stays reserved") {
		t.Fatalf("err %v, record %s %s, live %s\n%s", err, out.Record.Status, out.Record.VersionID, v2, hook.String())
	}
	// The disk has room again.
	if os.Geteuid() == 0 {
		_ = exec.Command("chattr", "-i", dir).Run()
	} else {
		_ = os.Chmod(dir, 0o755)
	}
	next, err := Run(context.Background(), w.opts(t, tn, "staging", nil))
	if err != nil || next.Settled == "" {
		t.Fatalf("the next run: %v (settled %q)", err, next.Settled)
	}
	es, err := history.Open(dir).Entries(tn, "staging")
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range es {
		if e.Path == next.Settled {
			found = true
			if r := e.Record; r.Status != history.StatusSucceeded || r.VersionID != v2 || !strings.Contains(r.Error, "written by the next run") {
				t.Fatalf("the record the next run wrote: %s %s %q", r.Status, r.VersionID, r.Error)
			}
		}
	}
	if !found {
		t.Fatalf("no record at %s", next.Settled)
	}
}
