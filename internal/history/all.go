package history

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Damaged is a record file that a tolerant reader (Readable, ReadableOf) passed over, and why.
// The read-only reports (fleet:status, history:stats, report:html) carry these instead of
// failing: one bad file must not hide the rest of the fleet's history. history:verify is the
// strict check that fails on them.
type Damaged struct {
	File string `json:"file"` // base name in the records folder
	Path string `json:"path"`
	// Tenant and Env are what the file name says (its contents are not to be trusted).
	Tenant string `json:"tenant"`
	Env    string `json:"env"`
	Reason string `json:"reason"`
}

// Fix is what to do about damaged records, for warnings and notices: where to restore them
// from, named by the folder they are in. A rehearsal's records live under .state/, which git
// ignores, so for those it says so instead of sending the operator to git.
func Fix(ds ...Damaged) string {
	dir := "deployments"
	if len(ds) > 0 {
		dir = filepath.Dir(ds[0].Path)
	}
	if rehearsal(dir) {
		return "`go tool mage history:verify` names it; " + dir + " holds a rehearsal's records, which git does not keep: delete the file (or `go tool mage sandbox:reset` for a fresh rehearsal)"
	}
	return "`go tool mage history:verify` names it; restore it from git (`git log -- " + filepath.Base(dir) + "/`) or from the deploy-records branch"
}

// rehearsal reports whether dir holds a rehearsal's records: under .state/, which git ignores.
func rehearsal(dir string) bool { return strings.Contains(filepath.ToSlash(dir), "/.state/") }

// Warning is the one-line warning about d that every reader prints: the file, what is wrong
// and the fix.
func (d Damaged) Warning() string {
	return fmt.Sprintf("skipped the damaged record %s (%s); %s", d.Path, d.Reason, Fix(d))
}

// Readable is what a tolerant read found: the entries that read as records, and the files
// passed over. Entries never has Damaged set.
type Readable struct {
	Entries []Entry
	Damaged []Damaged
}

// Of keeps what is about tenant/env ("" matches any), by the file name for damaged files.
func (r Readable) Of(tenant, env string) Readable {
	var out Readable
	for _, e := range r.Entries {
		if (tenant == "" || e.Record.Tenant == tenant) && (env == "" || e.Record.Env == env) {
			out.Entries = append(out.Entries, e)
		}
	}
	for _, d := range r.Damaged {
		if (tenant == "" || d.Tenant == tenant) && (env == "" || d.Env == env) {
			out.Damaged = append(out.Damaged, d)
		}
	}
	return out
}

// Readable returns every record in the store that can be read, of every tenant/env, oldest
// first within each tenant/env (tenant/envs in name order), and the record files it could not
// use: unreadable, not JSON, another format version, or contents for another tenant/env than
// the name says. Files that are not named like records are ignored. The error is only for a
// folder that cannot be listed.
func (s *Store) Readable() (Readable, error) {
	names, err := s.names(func(n string) bool { return recordName.MatchString(n) })
	if err != nil {
		return Readable{}, err
	}
	return s.readAll(names), nil
}

// ReadableOf is Readable for one tenant/env, newest first (as List).
func (s *Store) ReadableOf(tenant, env string) (Readable, error) {
	names, err := s.names(func(n string) bool { _, ok := stampOf(n, tenant, env); return ok })
	if err != nil {
		return Readable{}, err
	}
	slices.Reverse(names)
	return s.readAll(names), nil
}

func (s *Store) readAll(names []string) Readable {
	out := Readable{Entries: make([]Entry, 0, len(names))}
	for _, n := range names {
		p := filepath.Join(s.Dir, n)
		e, err := read(p)
		if err == nil {
			out.Entries = append(out.Entries, e)
			continue
		}
		t, env, _ := Split(n)
		out.Damaged = append(out.Damaged, Damaged{File: n, Path: p, Tenant: t, Env: env, Reason: reason(err)})
	}
	return out
}

// reason is a read error without the "history: <path> is not a valid record:" prefix the
// warning already says.
func reason(err error) string {
	var d *damage
	if errors.As(err, &d) {
		return d.why
	}
	return strings.TrimPrefix(err.Error(), "history: ")
}

// Split returns the tenant and env a record file name is for, and false when name is not a
// record name.
func Split(name string) (tenant, env string, ok bool) {
	m := recordName.FindStringSubmatch(filepath.Base(name))
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], strings.HasSuffix(name, ".json")
}
