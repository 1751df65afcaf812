package history

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each kind of damage to one record of acme/staging: the tolerant reads pass over it and name
// it with the reason, keep every good record (of acme/staging and of the other tenant), and
// the strict ones (List, Verify) still fail on it.
func TestReadablePassesOverEachKindOfDamage(t *testing.T) {
	rewrite := func(f func(rec map[string]any)) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var rec map[string]any
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			f(rec)
			b, _ = json.MarshalIndent(rec, "", "  ")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		reason string // in the Damaged reason
		strict bool   // List fails naming the file (an unreadable file fails Entries itself)
	}{
		{"truncated JSON", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(path, b[:len(b)/2], 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not valid JSON", true},
		{"git conflict markers", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			b = append([]byte("<<<<<<< HEAD\n"), append(b, "=======\n>>>>>>> theirs\n"...)...)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not valid JSON", true},
		{"empty file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not valid JSON", true},
		{"newer format version", rewrite(func(r map[string]any) { r["schema_version"] = 2 }), "schema_version 2, this tool reads 1", true},
		{"no format version", rewrite(func(r map[string]any) { delete(r, "schema_version") }), "schema_version 0", true},
		{"another tenant's record under this name", rewrite(func(r map[string]any) { r["tenant"] = "globex" }), "for globex/staging but the file name says acme/staging", true},
		{"another env's record under this name", rewrite(func(r map[string]any) { r["env"] = "production" }), "for acme/production but the file name says acme/staging", true},
		{"unreadable", func(t *testing.T, path string) {
			prev := readFile
			readFile = func(p string) ([]byte, error) {
				if p == path {
					return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
				}
				return prev(p)
			}
			t.Cleanup(func() { readFile = prev })
		}, "permission denied", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Store{Dir: t.TempDir(), Now: seq()}
			bad, err := s.Write(sample("acme", "staging", StatusSucceeded, "v1"))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []Record{sample("acme", "staging", StatusSucceeded, "v2"), sample("globex", "staging", StatusFailed, "")} {
				if _, err := s.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			tc.damage(t, bad.Path)
			file := filepath.Base(bad.Path)

			all, err := s.Readable()
			if err != nil {
				t.Fatalf("Readable: %v", err)
			}
			if len(all.Entries) != 2 || all.Entries[0].Record.VersionID != "v2" || all.Entries[1].Record.Tenant != "globex" {
				t.Errorf("Readable kept %+v, want acme v2 and globex", all.Entries)
			}
			if len(all.Damaged) != 1 {
				t.Fatalf("Readable damaged = %+v, want %s", all.Damaged, file)
			}
			d := all.Damaged[0]
			if d.File != file || d.Path != bad.Path || d.Tenant != "acme" || d.Env != "staging" || !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("damaged = %+v, want %s for acme/staging with %q", d, file, tc.reason)
			}
			for _, want := range []string{bad.Path, tc.reason, "history:verify", "git", "deploy-records"} {
				if !strings.Contains(d.Warning(), want) {
					t.Errorf("warning %q lacks %q", d.Warning(), want)
				}
			}
			if o := all.Of("globex", ""); len(o.Entries) != 1 || len(o.Damaged) != 0 {
				t.Errorf("Of(globex) = %+v", o)
			}

			one, err := s.ReadableOf("acme", "staging")
			if err != nil || len(one.Entries) != 1 || one.Entries[0].Record.VersionID != "v2" || len(one.Damaged) != 1 || one.Damaged[0].File != file {
				t.Errorf("ReadableOf = %+v, %v", one, err)
			}
			for _, e := range append(all.Entries, one.Entries...) {
				if e.Damaged != nil {
					t.Errorf("a Readable entry has Damaged set: %+v", e)
				}
			}

			_, err = s.List("acme", "staging")
			if err == nil || (tc.strict && !strings.Contains(err.Error(), file)) {
				t.Errorf("List over it: %v, want an error naming %s", err, file)
			}
			problems, err := Verify(s.Dir)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			named := false
			for _, p := range problems {
				named = named || p.File == file
				if p.File != file {
					t.Errorf("Verify blames another file: %v", p)
				}
			}
			if !named {
				t.Errorf("Verify does not name %s: %v", file, problems)
			}
			var out bytes.Buffer
			if err := CheckAll(t.Context(), &out, s.Dir, s.Dir); err == nil || !strings.Contains(out.String(), file) {
				t.Errorf("history:verify: %v\n%s", err, out.String())
			}
		})
	}
}

// A folder that cannot be listed is an error, not an empty history.
func TestReadableFailsOnAnUnlistableFolder(t *testing.T) {
	f := filepath.Join(t.TempDir(), "deployments")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(f).Readable(); err == nil {
		t.Error("Readable of a file, not a folder: no error")
	}
	if r, err := Open(filepath.Join(t.TempDir(), "none")).Readable(); err != nil || len(r.Entries)+len(r.Damaged) != 0 {
		t.Errorf("Readable of a missing folder = %+v, %v; want empty", r, err)
	}
}

func TestFixNamesWhereToRestoreFrom(t *testing.T) {
	for _, c := range []struct {
		path, want, not string
	}{
		{"/repo/deployments/acme-staging-1.json", "git log -- deployments/", "rehearsal"},
		{"/repo/.state/sandbox/deployments/acme-staging-1.json", "git does not keep", "git log"},
	} {
		got := Fix(Damaged{Path: c.path})
		if !strings.Contains(got, c.want) || strings.Contains(got, c.not) || strings.Contains(got, "<") {
			t.Errorf("Fix(%s) = %q; want it to say %q and not %q", c.path, got, c.want, c.not)
		}
	}
}
