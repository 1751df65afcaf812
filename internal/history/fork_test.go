package history

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Two runs that chained to the same record: Verify names the later one, whose link forks the
// chain, and not its innocent neighbour.
func TestVerifyNamesTheForkingRecord(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	write := func(dir string, at time.Time) string {
		st := Store{Dir: dir, Now: func() time.Time { return at }}
		e, err := st.Write(Record{Kind: KindDeploy, Tenant: "alpha", Env: "staging", Status: StatusSucceeded, Actor: "t", StartedAt: at.Add(-time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		return e.Path
	}
	a, b := t.TempDir(), t.TempDir()
	first := write(a, at)
	body, _ := os.ReadFile(first)
	if err := os.WriteFile(filepath.Join(b, filepath.Base(first)), body, 0o644); err != nil {
		t.Fatal(err)
	}
	innocent := write(a, at.Add(time.Hour))
	forked := write(b, at.Add(2*time.Hour))
	body, _ = os.ReadFile(forked)
	if err := os.WriteFile(filepath.Join(a, filepath.Base(forked)), body, 0o644); err != nil {
		t.Fatal(err)
	}
	probs, err := Verify(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 1 || probs[0].File != filepath.Base(forked) || !probs[0].Fork() {
		t.Fatalf("problems = %+v; want one fork naming %s (not %s)", probs, filepath.Base(forked), filepath.Base(innocent))
	}
}
