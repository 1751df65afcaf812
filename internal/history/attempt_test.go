package history

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// A reserved attempt that is never finished (its run was killed) is completed by Settle into
// an interrupted record that says what is live, chained like any other; a finished one leaves
// nothing to settle.
func TestSettleCompletesWhatAKilledRunLeft(t *testing.T) {
	s := &Store{Dir: t.TempDir(), Now: seq()}
	if _, err := s.Write(sample("acme", "staging", StatusSucceeded, "v1")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, live, want string
		leftLive         bool
	}{
		{"nothing went live", "v1", "nothing it uploaded is live (v1", false},
		{"its version went live", "v2", "version v2 is live and was never verified", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := sample("acme", "staging", "", "")
			rec.PreviousVersionID = "v1"
			if _, err := s.Reserve(4242, "laptop", "deploy:tenant acme staging", rec, "tok-canary-123"); err != nil {
				t.Fatal(err)
			}
			got, ok, err := s.Settle("acme", "staging", c.live)
			if err != nil || !ok {
				t.Fatalf("Settle = %v, %v", ok, err)
			}
			es, err := s.List("acme", "staging")
			if err != nil {
				t.Fatal(err)
			}
			r := es[0].Record
			if es[0].Path != got.File || r.Status != StatusInterrupted || !strings.Contains(r.Error, c.want) ||
				!strings.Contains(r.Error, "pid 4242 on laptop") || got.Live != c.leftLive {
				t.Fatalf("settled record %s: %s %q (live %v)", filepath.Base(got.File), r.Status, r.Error, got.Live)
			}
			if c.leftLive && r.VersionID != "v2" {
				t.Errorf("version_id = %q, want the live one", r.VersionID)
			}
			if _, ok, _ := s.Settle("acme", "staging", c.live); ok {
				t.Error("settled twice")
			}
		})
	}
	a, err := s.Reserve(1, "h", "", sample("acme", "staging", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Pending("acme", "staging") || s.Pending("acme", "production") {
		t.Error("Pending does not see the reservation, or sees one for another env")
	}
	if err := a.Done(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Settle("acme", "staging", "v1"); ok {
		t.Error("a finished attempt was settled")
	}
	if problems, err := Verify(s.Dir); err != nil || len(problems) > 0 {
		t.Errorf("Verify: %v %v", problems, err)
	}
}

// Reserve refuses, naming the folder and the fix, when the records folder takes no writes.
func TestReserveRefusesAnUnwritableFolder(t *testing.T) {
	dir := t.TempDir()
	testrepo.Unwritable(t, dir)
	_, err := Open(dir).Reserve(1, "h", "", sample("acme", "staging", "", ""))
	var we *WritableError
	if !errors.As(err, &we) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "nothing was uploaded") {
		t.Fatalf("Reserve in an unwritable folder: %v", err)
	}
}

// A damaged record (git conflict markers) does not stop the chain: the next record chains to
// the damaged file's bytes, Entries reports it, List and Verify still name it.
func TestDamagedRecordKeepsTheChain(t *testing.T) {
	s := &Store{Dir: t.TempDir(), Now: seq()}
	pEntry, err := s.Write(sample("acme", "staging", StatusSucceeded, "v1"))
	p := pEntry.Path
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	damaged := append([]byte("<<<<<<< HEAD\n"), b...)
	damaged = append(damaged, []byte("=======\n>>>>>>> theirs\n")...)
	if err := os.WriteFile(p, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	nextEntry, err := s.Write(sample("acme", "staging", StatusSucceeded, "v2"))
	next := nextEntry.Path
	if err != nil {
		t.Fatalf("a write after a damaged record: %v", err)
	}
	es, err := s.Entries("acme", "staging")
	if err != nil || len(es) != 2 || es[1].Damaged == nil || es[0].Record.PrevRecordSHA256 != sum(damaged) {
		t.Fatalf("Entries = %+v, %v", es, err)
	}
	if _, err := s.List("acme", "staging"); err == nil || !strings.Contains(err.Error(), filepath.Base(p)) {
		t.Errorf("List over a damaged record: %v", err)
	}
	problems, _ := Verify(s.Dir)
	var named, nextNamed bool
	for _, pr := range problems {
		named = named || pr.File == filepath.Base(p)
		nextNamed = nextNamed || pr.File == filepath.Base(next)
	}
	if !named || nextNamed {
		t.Errorf("Verify should name only the damaged file: %v", problems)
	}
}

// The history table still shows the good records around a damaged one, which it names.
func TestShowNamesADamagedRecord(t *testing.T) {
	s := &Store{Dir: t.TempDir(), Now: seq()}
	pEntry, _ := s.Write(sample("acme", "staging", StatusSucceeded, "v1"))
	p := pEntry.Path
	if _, err := s.Write(sample("acme", "staging", StatusSucceeded, "v2")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("<<<<<<< HEAD\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := Show(&out, s.Dir, "acme", "staging", false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "v2") || !strings.Contains(out.String(), "DAMAGED") || !strings.Contains(out.String(), "warning: "+filepath.Base(p)) {
		t.Fatalf("history table:\n%s", out.String())
	}
	if err := Show(&out, s.Dir, "acme", "staging", true); err == nil || !strings.Contains(err.Error(), filepath.Base(p)) {
		t.Fatalf("JSON over a damaged record: %v", err)
	}
}
