package history

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// stampLayout is the UTC timestamp in file names: fixed width, so that name order is time order,
// with nanoseconds so that two records of one tenant/env practically never share a name (and
// Write steps past one that does).
const stampLayout = "20060102T150405.000000000Z"

// Entry is a record together with the file it was read from.
type Entry struct {
	Path   string
	SHA256 string // of the file's bytes
	Record Record
	// Damaged says why the file is not a usable record (Entries only; List fails instead).
	Damaged error
}

// Store is the records folder (deployments/).
type Store struct {
	Dir string
	// Now is replaced in tests; nil means time.Now.
	Now func() time.Time
}

// Open returns the store of records kept in dir.
func Open(dir string) *Store { return &Store{Dir: dir} }

// FileName is the name of a record of tenant/env written at t.
func FileName(tenant, env string, t time.Time) string {
	return tenant + "-" + env + "-" + t.UTC().Format(stampLayout) + ".json"
}

// Write stores rec as the newest record of its tenant/env: it fills schema_version, finished_at
// (when zero) and prev_record_sha256, replaces every string of scrub found anywhere in the record
// (defence in depth against a token echoed into an error message), and returns the entry it
// wrote: its path, its hash (the next record's prev_record_sha256) and the record as stored.
func (s *Store) Write(rec Record, scrub ...string) (Entry, error) {
	if rec.Tenant == "" || rec.Env == "" || strings.ContainsAny(rec.Tenant+rec.Env, `/\`) {
		return Entry{}, fmt.Errorf("history: record needs a plain tenant and env (got %q/%q)", rec.Tenant, rec.Env)
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return Entry{}, fmt.Errorf("history: %w", err)
	}
	unlock, err := s.lockChain()
	if err != nil {
		return Entry{}, err
	}
	defer unlock()

	now := s.now().UTC()
	rec.SchemaVersion = SchemaVersion
	if rec.FinishedAt.IsZero() {
		rec.FinishedAt = now
	}
	if rec.Targets == nil {
		rec.Targets = []string{}
	}
	if rec.Steps == nil {
		rec.Steps = []Step{}
	}
	// Entries, not List: a damaged predecessor is still a file with a hash, and chaining to it
	// keeps the chain whole around it (history:verify names the damage; deploys go on).
	prev, err := s.Entries(rec.Tenant, rec.Env)
	if err != nil {
		return Entry{}, err
	}
	rec.PrevRecordSHA256 = ""
	if len(prev) > 0 {
		rec.PrevRecordSHA256 = prev[0].SHA256
	}
	body, err := encode(rec)
	if err != nil {
		return Entry{}, err
	}
	scrubbed := false
	for _, sec := range scrub {
		if len(sec) >= 4 && bytes.Contains(body, []byte(sec)) {
			body = bytes.ReplaceAll(body, []byte(sec), []byte("[REDACTED]"))
			scrubbed = true
		}
	}
	if scrubbed {
		// The entry carries the record as stored, not the secret that was scrubbed from it.
		rec = Record{}
		if err := json.Unmarshal(body, &rec); err != nil {
			return Entry{}, fmt.Errorf("history: %w", err)
		}
	}

	tmp, err := os.CreateTemp(s.Dir, ".record-*.tmp")
	if err != nil {
		return Entry{}, fmt.Errorf("history: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(body)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return Entry{}, fmt.Errorf("history: writing %s: %w", tmp.Name(), err)
	}
	// Newer than the newest existing record, so that name order stays chain order.
	t := now
	if len(prev) > 0 {
		if last, ok := stampOf(filepath.Base(prev[0].Path), rec.Tenant, rec.Env); ok && !t.After(last) {
			t = last.Add(time.Nanosecond)
		}
	}
	for range 1000 {
		final := filepath.Join(s.Dir, FileName(rec.Tenant, rec.Env, t))
		// A hard link is an atomic create that fails instead of replacing an existing file.
		err := os.Link(tmp.Name(), final)
		if err == nil {
			syncDir(s.Dir)
			return Entry{Path: final, SHA256: sum(body), Record: rec}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return Entry{}, fmt.Errorf("history: %w", err)
		}
		t = t.Add(time.Nanosecond)
	}
	return Entry{}, fmt.Errorf("history: no free record name for %s/%s", rec.Tenant, rec.Env)
}

func encode(rec Record) ([]byte, error) {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return append(b, '\n'), nil
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// lockChain serialises writers across processes (flock on the folder itself, so no lock file
// lands in the committed folder): reading the newest record and writing the next must not
// interleave, or two records would claim the same predecessor.
func (s *Store) lockChain() (func(), error) {
	d, err := os.Open(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		d.Close()
		return nil, fmt.Errorf("history: locking %s: %w", s.Dir, err)
	}
	return func() {
		_ = syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
		d.Close()
	}, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// stampOf returns the timestamp of a record file name of tenant/env.
func stampOf(name, tenant, env string) (time.Time, bool) {
	prefix := tenant + "-" + env + "-"
	if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".json") {
		return time.Time{}, false
	}
	t, err := time.Parse(stampLayout, strings.TrimSuffix(strings.TrimPrefix(name, prefix), ".json"))
	return t, err == nil
}

// List returns the records of tenant/env, newest first. A file that cannot be read or parsed is
// an error naming it: history is evidence, and a damaged file must be looked at.
func (s *Store) List(tenant, env string) ([]Entry, error) {
	es, err := s.Entries(tenant, env)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if e.Damaged != nil {
			return nil, e.Damaged
		}
	}
	return es, nil
}

// Entries is List for callers that can work around damage: a file that does not parse is
// returned with Damaged set (and its SHA256, so the chain can go on from it) instead of failing
// the whole list. A file that cannot be read at all is still an error.
func (s *Store) Entries(tenant, env string) ([]Entry, error) {
	names, err := s.names(func(n string) bool { _, ok := stampOf(n, tenant, env); return ok })
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(names))
	for _, n := range slices.Backward(names) {
		e, err := read(filepath.Join(s.Dir, n))
		if err != nil && e.Path == "" {
			return nil, err
		}
		e.Damaged = err
		out = append(out, e)
	}
	return out, nil
}

// LastSucceeded returns the newest record of tenant/env with status succeeded, skipping the
// first skip of them (skip 1 = the one before the newest success), and false when there is none.
// Damaged records are passed over (history:verify names them).
func (s *Store) LastSucceeded(tenant, env string, skip int) (Entry, bool, error) {
	all, err := s.Entries(tenant, env)
	if err != nil {
		return Entry{}, false, err
	}
	for _, e := range all {
		if e.Damaged == nil && e.Record.Status == StatusSucceeded && e.Record.VersionID != "" {
			if skip == 0 {
				return e, true, nil
			}
			skip--
		}
	}
	return Entry{}, false, nil
}

// names lists record file names in the folder that keep, sorted ascending (oldest first).
func (s *Store) names(keep func(string) bool) ([]string, error) {
	des, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var out []string
	for _, de := range des {
		if de.Type().IsRegular() && keep(de.Name()) {
			out = append(out, de.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// readFile is os.ReadFile; a test replaces it to make a file unreadable (tests run as root,
// where permissions do not).
var readFile = os.ReadFile

// damage is why a file that was read is not a usable record.
type damage struct {
	path, why string
}

func (d *damage) Error() string { return "history: " + d.path + " is not a valid record: " + d.why }

// read reads one record file. A file that was read but is not a usable record (not JSON,
// another format version, or contents for another tenant/env than its name says: using it
// would act on another tenant's versions) comes back with its path and hash and a *damage
// error; a file that cannot be read at all comes back with no path.
func read(path string) (Entry, error) {
	b, err := readFile(path)
	if err != nil {
		return Entry{}, fmt.Errorf("history: %w", err)
	}
	e := Entry{Path: path, SHA256: sum(b)}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return e, &damage{path, "not valid JSON: " + err.Error()}
	}
	if rec.SchemaVersion != SchemaVersion {
		return e, &damage{path, fmt.Sprintf("schema_version %d, this tool reads %d", rec.SchemaVersion, SchemaVersion)}
	}
	if t, env, ok := Split(path); ok && (rec.Tenant != t || rec.Env != env) {
		return e, &damage{path, fmt.Sprintf("the record is for %s/%s but the file name says %s/%s", rec.Tenant, rec.Env, t, env)}
	}
	e.Record = rec
	return e, nil
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
