package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/atomicfile"
)

// An Attempt is the reservation of a record: written under the tenant/env's deploy lock before
// anything is uploaded, kept up to date while the run goes on, and removed once the real record
// is written. A run killed without a chance to clean up (kill -9, an OOM kill, a lost CI
// runner) leaves it behind, and the next run that takes the lock turns it into the missing
// record (Settle). It lives beside the records, as a hidden file that is not a record: writing
// it is also the proof that the records folder takes writes before anything goes live.
type Attempt struct {
	store *Store
	path  string
	scrub []string
	// Reservation is what the file holds.
	Reservation Reservation
}

// Reservation is the content of an attempt file.
type Reservation struct {
	PID        int       `json:"pid"`
	Host       string    `json:"host"`
	ReservedAt time.Time `json:"reserved_at"`
	Command    string    `json:"command,omitempty"`
	// Record is the record as far as the run got; its status is filled in by whoever ends it.
	Record Record `json:"record"`
	// Next names the change the run was about to make on Cloudflare when it last wrote the
	// reservation ("rollout step 2: <id> at 50%", "rollback to <id>", "secret API_KEY"): written
	// before the call, so a kill between the two never records less than what may be live.
	Next string `json:"next,omitempty"`
}

// AttemptPath is the reservation file of tenant/env in dir.
func AttemptPath(dir, tenant, env string) string {
	return filepath.Join(dir, "."+tenant+"-"+env+".attempt")
}

// WritableError is a records folder that cannot take the record of an attempt. Nothing has
// been uploaded when it is returned.
type WritableError struct {
	Dir string
	Err error
}

func (e *WritableError) Error() string {
	return fmt.Sprintf("the records folder %s cannot take this attempt's record (%v); nothing was uploaded. "+
		"Make it writable (check its owner and permissions, `ls -ld %s`) or free disk space, then run again", e.Dir, e.Err, e.Dir)
}

func (e *WritableError) Unwrap() error { return e.Err }

// Reserve proves the records folder readable (the tenant/env's records list, the chain head
// included) and writable (the reservation itself is written and synced there), and returns the
// attempt. Call it with the tenant/env's deploy lock held, after Settle: there is one
// reservation per tenant/env. scrub are secrets that must never reach the file.
func (s *Store) Reserve(pid int, host, command string, rec Record, scrub ...string) (*Attempt, error) {
	if rec.Tenant == "" || rec.Env == "" || strings.ContainsAny(rec.Tenant+rec.Env, `/\`) {
		return nil, fmt.Errorf("history: record needs a plain tenant and env (got %q/%q)", rec.Tenant, rec.Env)
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, &WritableError{s.Dir, err}
	}
	if _, err := s.Entries(rec.Tenant, rec.Env); err != nil {
		return nil, &WritableError{s.Dir, err}
	}
	a := &Attempt{store: s, path: AttemptPath(s.Dir, rec.Tenant, rec.Env), scrub: scrub,
		Reservation: Reservation{PID: pid, Host: host, ReservedAt: s.now().UTC(), Command: command}}
	if err := a.Update(rec); err != nil {
		return nil, err
	}
	return a, nil
}

// Update replaces the reservation's record with rec (the version id once it is known, say), so
// that a run killed later leaves what it knew.
func (a *Attempt) Update(rec Record) error {
	if a == nil {
		return nil
	}
	a.Reservation.Record = rec
	b, err := json.MarshalIndent(a.Reservation, "", "  ")
	// A later Update (after the call) no longer carries the intent: it was carried out.
	a.Reservation.Next = ""
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	for _, sec := range a.scrub {
		if len(sec) >= 4 {
			b = bytes.ReplaceAll(b, []byte(sec), []byte("[REDACTED]"))
		}
	}
	data := padded(b)
	if err := atomicfile.Write(a.path, data, atomicfile.Options{Sync: true}); err != nil {
		// No room for a new file (a full disk, a folder that takes no new files): overwrite
		// the reservation in place, in the space Reserve took, so the next run still reads
		// what this one knew (the version id above all). Only when that fails too is it lost.
		if ierr := overwrite(a.path, data); ierr != nil {
			return &WritableError{a.store.Dir, errors.Join(err, ierr)}
		}
	}
	return nil
}

// reserveSize is the space a reservation holds from the start: more than any record takes (a
// record is a few KiB), so that whatever the run learns later fits in place, and freeing it
// (Free) makes room for the record itself on a disk that filled up meanwhile.
const reserveSize = 64 << 10

// padded is the reservation's JSON followed by blanks up to reserveSize (JSON allows trailing
// white space), or twice its length if that is more.
func padded(b []byte) []byte {
	size := max(reserveSize, 2*len(b))
	out := make([]byte, size)
	copy(out, b)
	for i := len(b); i < size; i++ {
		out[i] = ' '
	}
	out[size-1] = '\n'
	return out
}

// overwrite writes data over path's bytes without creating a file: in the blocks the file
// already holds when data is no longer than it.
func overwrite(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, werr := f.WriteAt(data, 0)
	var terr error
	if st, err := f.Stat(); err == nil && st.Size() > int64(len(data)) {
		terr = f.Truncate(int64(len(data)))
	}
	serr := f.Sync()
	return errors.Join(werr, terr, serr, f.Close())
}

// Free gives back the space the reservation holds beyond its content, right before the
// attempt's record is written: the record takes the room the reservation kept for it. The
// reservation itself stays (what the run knew, the version id) until Done.
func (a *Attempt) Free() error {
	if a == nil {
		return nil
	}
	b, err := os.ReadFile(a.path)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return os.Truncate(a.path, int64(len(bytes.TrimRight(b, " \n"))+1))
}

// Intend writes rec into the reservation with next, the change about to be made, before the
// call that makes it (write ahead); Update after the call clears next.
func (a *Attempt) Intend(rec Record, next string) error {
	if a == nil {
		return nil
	}
	a.Reservation.Next = next
	return a.Update(rec)
}

// Done removes the reservation once the attempt's record is written. Without a record (the
// write failed) keep it: the next run completes it.
func (a *Attempt) Done() error {
	if a == nil {
		return nil
	}
	if err := os.Remove(a.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}

// Pending reports whether an attempt of tenant/env is reserved: one running now, or one a
// killed run left for Settle.
func (s *Store) Pending(tenant, env string) bool {
	_, err := os.Lstat(AttemptPath(s.Dir, tenant, env))
	return err == nil
}

// Settled is the record Settle wrote for an attempt a killed run left.
type Settled struct {
	File        string
	Reservation Reservation
	// Live says whether a version of the killed attempt is live (it was never verified).
	Live bool
}

// Settle completes the attempt a killed run left for tenant/env, if any: it writes its record
// (status interrupted, the error saying what happened and what is live now) and removes the
// reservation. live is the version serving now ("" when unknown). Call it with the tenant/env's
// lock held: a reservation found then belongs to a run that no longer holds the lock, so it is
// gone. ok is false when there was nothing to settle.
func (s *Store) Settle(tenant, env, live string, scrub ...string) (Settled, bool, error) {
	var l []string
	if live != "" {
		l = []string{live}
	}
	return s.SettleSplit(tenant, env, l, scrub...)
}

// SettleSplit is Settle when the live deployment may serve two versions (a gradual rollout
// killed mid-way): live lists every version serving now (none when unknown).
func (s *Store) SettleSplit(tenant, env string, live []string, scrub ...string) (Settled, bool, error) {
	path := AttemptPath(s.Dir, tenant, env)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Settled{}, false, nil
	}
	if err != nil {
		return Settled{}, false, fmt.Errorf("history: reading the reservation a killed run left: %w", err)
	}
	var r Reservation
	if err := json.Unmarshal(b, &r); err != nil || r.Record.Tenant != tenant || r.Record.Env != env {
		// Half-written when its run died: all that is known is that an attempt began.
		st, _ := os.Stat(path)
		r = Reservation{Record: Record{Kind: KindDeploy, Tenant: tenant, Env: env}}
		if st != nil {
			r.ReservedAt = st.ModTime().UTC()
			r.Record.StartedAt = r.ReservedAt
		}
	}
	rec := r.Record
	if rec.Status != "" {
		// The run ended and put its ending in the reservation, but could not write its record
		// (a full disk): write that record as it ended, saying who wrote it.
		rec.Error = strings.TrimPrefix(rec.Error+fmt.Sprintf("; this record was written by the next run at %s: the %s attempt of pid %d on %s ended %s but could not write it (a full disk?)",
			s.now().UTC().Format(time.RFC3339), rec.Kind, r.PID, r.Host, rec.Status), "; ")
		entry, err := s.Write(rec, scrub...)
		if err != nil {
			return Settled{}, false, err
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Settled{File: entry.Path, Reservation: r}, true, fmt.Errorf("history: %w", err)
		}
		return Settled{File: entry.Path, Reservation: r}, true, nil
	}
	rec.Status = StatusInterrupted
	what := fmt.Sprintf("abandoned: the %s attempt of pid %d on %s (reserved %s) ended without writing its record (killed?); this record was written by the next run at %s",
		rec.Kind, r.PID, r.Host, r.ReservedAt.Format(time.RFC3339), s.now().UTC().Format(time.RFC3339))
	settled := Settled{Reservation: r}
	switch {
	case len(live) == 0 && rec.PreviousVersionID == "":
		what += "; nothing it uploaded is live (the Worker has no deployment)"
	case len(live) == 1 && live[0] == rec.PreviousVersionID:
		what += "; nothing it uploaded is live (" + live[0] + ", live before it, still is)"
	case len(live) == 0:
		what += "; what is live now could not be read: check with `go tool mage drift " + tenant + " " + env + "`"
	case len(live) > 1:
		settled.Live = true
		what += "; its traffic split is still live (" + strings.Join(live, ", ") + "): `go tool mage deploy:abort " + tenant + " " + env +
			"` puts the old version back at 100%, `go tool mage deploy:promote " + tenant + " " + env + "` the new one"
	case rec.Kind == KindSecrets:
		// A secret change makes and deploys a new version of the same code: nothing to roll back.
		rec.VersionID = live[0]
		what += "; version " + live[0] + " is live (Cloudflare makes one per secret change); if the deploy annotation was not carried over to it, the next deploy uploads again and says why"
	default:
		settled.Live = true
		if rec.VersionID == "" {
			rec.VersionID = live[0]
		}
		what += "; version " + live[0] + " is live and was never verified by it (the next deploy replaces it; `go tool mage rollback " + tenant + " " + env + "` puts the last good one back)"
	}
	if r.Next != "" {
		what += "; it was about to make this change on Cloudflare, which may or may not have happened: " + r.Next
	}
	if rec.Error != "" {
		what += "; it had got as far as: " + rec.Error
	}
	rec.Error = what
	rec.FinishedAt = time.Time{}
	entry, err := s.Write(rec, scrub...)
	if err != nil {
		return Settled{}, false, err
	}
	settled.File = entry.Path
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return settled, true, fmt.Errorf("history: %w", err)
	}
	return settled, true, nil
}
