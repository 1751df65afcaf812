package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Problem is one thing wrong with the records folder, named by file.
type Problem struct {
	File    string // base name inside the records folder
	Message string
}

const forkPrefix = "forks the chain: "

// Fork reports whether the problem is a fork: the record chains to a predecessor that another
// record already follows (two runs deployed from the same head).
func (p Problem) Fork() bool { return strings.HasPrefix(p.Message, forkPrefix) }

func (p Problem) String() string { return p.File + ": " + p.Message }

// recordName matches <tenant>-<env>-<stamp>.json; env never contains a '-', tenant may.
var recordName = regexp.MustCompile(`^(.+)-(dev|staging|production)-(\d{8}T\d{6}\.\d{9}Z)\.json$`)

// requiredKeys are the fields every record must carry, present even when empty.
var requiredKeys = []string{
	"schema_version", "kind", "tenant", "env", "worker_name", "account_id", "actor", "git_sha",
	"git_dirty", "wrangler_version", "bundle_sha256", "config_fingerprint", "previous_version_id",
	"version_id", "targets", "url", "status", "error", "health", "steps", "started_at",
	"finished_at", "prev_record_sha256",
}

type chainFile struct {
	name  string
	stamp time.Time
	sha   string
	body  []byte
	rec   *Record // nil when the file does not parse
	// unreadable: its bytes are unknown, so its successor's link to it cannot be checked.
	unreadable bool
}

// Verify checks every record in dir against the format and the hash chain of its tenant/env,
// and returns every problem found, sorted by file. The error is for a folder it cannot read.
//
// The chain proves every record but the newest of each tenant/env: the newest has no successor
// that commits to its hash, so for it only an edit that changes the file's layout shows (every
// record is also checked to be exactly what Write produces for its contents).
func Verify(dir string) ([]Problem, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var problems []Problem
	chains := map[string][]*chainFile{}
	for _, de := range des {
		n := de.Name()
		if !de.Type().IsRegular() || filepath.Ext(n) != ".json" {
			continue
		}
		m := recordName.FindStringSubmatch(n)
		if m == nil {
			problems = append(problems, Problem{n, "not a record name (want <tenant>-<env>-<YYYYMMDDTHHMMSS.nnnnnnnnnZ>.json)"})
			continue
		}
		stamp, err := time.Parse(stampLayout, m[3])
		if err != nil {
			problems = append(problems, Problem{n, "bad timestamp in name: " + err.Error()})
			continue
		}
		key := m[1] + "-" + m[2]
		b, err := readFile(filepath.Join(dir, n))
		if err != nil {
			problems = append(problems, Problem{n, "cannot be read: " + err.Error()})
			chains[key] = append(chains[key], &chainFile{name: n, stamp: stamp, unreadable: true})
			continue
		}
		cf := &chainFile{name: n, stamp: stamp, sha: sum(b), body: b}
		if rec, msgs := check(b, m[1], m[2], stamp); len(msgs) > 0 {
			for _, msg := range msgs {
				problems = append(problems, Problem{n, msg})
			}
		} else {
			cf.rec = rec
			// Write's bytes are a function of the record; any other layout was made by hand.
			// This is what catches an edit of the newest record, which no successor's hash covers.
			if !canonical(cf) {
				problems = append(problems, Problem{n, "edited: not byte for byte what the tool writes for this record"})
			}
		}
		chains[key] = append(chains[key], cf)
	}
	for _, files := range chains {
		slices.SortFunc(files, func(a, b *chainFile) int { return a.stamp.Compare(b.stamp) })
		problems = append(problems, walk(files)...)
	}
	slices.SortStableFunc(problems, func(a, b Problem) int {
		if a.File < b.File {
			return -1
		}
		if a.File > b.File {
			return 1
		}
		return 0
	})
	return problems, nil
}

// check validates one record's contents against the format and its own file name.
func check(b []byte, tenant, env string, stamp time.Time) (*Record, []string) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, []string{"not valid JSON: " + err.Error()}
	}
	var msgs []string
	for _, k := range requiredKeys {
		if _, ok := raw[k]; !ok {
			msgs = append(msgs, "missing field "+k)
		}
	}
	var rec Record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, append(msgs, "does not match the record format: "+err.Error())
	}
	if rec.SchemaVersion != SchemaVersion {
		msgs = append(msgs, fmt.Sprintf("schema_version %d, want %d", rec.SchemaVersion, SchemaVersion))
	}
	if !kinds[rec.Kind] {
		msgs = append(msgs, fmt.Sprintf("kind %q is not deploy, rollback or secrets", rec.Kind))
	}
	if !statuses[rec.Status] {
		msgs = append(msgs, fmt.Sprintf("status %q is not one of succeeded, unchanged, failed, rolled_back, interrupted", rec.Status))
	}
	if rec.Tenant != tenant || rec.Env != env {
		msgs = append(msgs, fmt.Sprintf("record is for %s/%s but the file name says %s/%s", rec.Tenant, rec.Env, tenant, env))
	}
	if rec.StartedAt.IsZero() || rec.FinishedAt.Before(rec.StartedAt) {
		msgs = append(msgs, "started_at/finished_at missing or out of order")
	}
	if stamp.Before(rec.StartedAt.Add(-time.Second)) {
		msgs = append(msgs, fmt.Sprintf("named for %s but started at %s: renamed or moved", stamp.Format(time.RFC3339), rec.StartedAt.UTC().Format(time.RFC3339)))
	}
	if len(msgs) > 0 {
		return nil, msgs
	}
	return &rec, nil
}

// walk checks the chain of one tenant/env, files oldest first.
func walk(files []*chainFile) []Problem {
	byHash := map[string]int{}
	for i, f := range files {
		byHash[f.sha] = i
	}
	var problems []Problem
	for i, f := range files {
		if f.rec == nil {
			continue // already reported; its successor's check still runs against its bytes
		}
		if i > 0 && files[i-1].unreadable {
			continue // already reported, and there are no bytes to check the link against
		}
		want := ""
		if i > 0 {
			want = files[i-1].sha
		}
		got := f.rec.PrevRecordSHA256
		if got == want {
			continue
		}
		switch j, known := byHash[got]; {
		case i == 0 && got != "" && !known:
			problems = append(problems, Problem{f.name, "the chain says a record came before this one, but there is none: an earlier record was deleted"})
		case known && j > i:
			problems = append(problems, Problem{f.name, fmt.Sprintf("the chain puts this record after %s, which is named later: records were reordered (renamed)", files[j].name)})
		case known && j < i-1 && files[i-1].rec != nil && i >= 2 && files[i-1].rec.PrevRecordSHA256 == files[i-2].sha:
			// Its neighbour links where it should: this record is the one off the chain, a
			// second run that chained to the same predecessor (a fork), not an insertion.
			problems = append(problems, Problem{f.name, fmt.Sprintf(forkPrefix+"it follows %s, which %s already follows (two runs deployed from the same head; `go tool mage records:pull` before a deploy, or the lease, keeps them in one chain)", files[j].name, files[i-1].name)})
		case known && j < i-1:
			problems = append(problems, Problem{files[i-1].name, fmt.Sprintf("not in the chain: %s follows %s directly; this record was inserted, or moved here", f.name, files[j].name)})
		case i > 0 && got == "":
			problems = append(problems, Problem{f.name, "claims to be the first record, but " + files[i-1].name + " comes before it: records were reordered or this one was edited"})
		default:
			prev := files[i-1]
			if prev.rec != nil && !canonical(prev) {
				problems = append(problems, Problem{prev.name, fmt.Sprintf("edited: its sha256 no longer matches the one %s recorded, and it is not in the written format", f.name)})
			} else {
				problems = append(problems, Problem{prev.name, fmt.Sprintf("edited, or a record between it and %s was deleted: its sha256 no longer matches the one %s recorded", f.name, f.name)})
			}
		}
	}
	return problems
}

// canonical reports whether a file is byte for byte what Write would have written for its record.
func canonical(f *chainFile) bool {
	b, err := encode(*f.rec)
	return err == nil && bytes.Equal(b, f.body)
}

// SHA256 is the hash a successor record keeps of b (its prev_record_sha256).
func SHA256(b []byte) string { return sum(b) }
