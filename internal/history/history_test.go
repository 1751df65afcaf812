package history

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func sample(tenant, env string, st Status, version string) Record {
	start := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	return Record{
		Kind: KindDeploy, Tenant: tenant, Env: env, WorkerName: tenant + "-api-" + env,
		AccountID: "4f1c2b7e9a0d43c8b6e5f70192a3b4c5", Actor: "Ada <ada@example.com>", GitSHA: "abc123",
		WranglerVersion: "4.63.0", BundleSHA256: strings.Repeat("a", 64), ConfigFingerprint: strings.Repeat("b", 64),
		VersionID: version, Targets: []string{"https://x.workers.dev"}, URL: "https://x.workers.dev/health", Status: st,
		Health: &Health{URL: "https://x.workers.dev/health", ExpectedVersion: version, SeenVersion: version, StatusCode: 200, Attempts: 1, OK: true},
		Steps:  []Step{{Name: "build", Start: start, DurationMS: 12}}, StartedAt: start,
	}
}

// seq returns a clock that ticks one millisecond per call, so file names are predictable.
func seq() func() time.Time {
	t := time.Date(2026, 11, 28, 20, 0, 1, 0, time.UTC)
	var mu sync.Mutex
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond)
		return t
	}
}

func TestWriteChainsAndLists(t *testing.T) {
	s := &Store{Dir: t.TempDir(), Now: seq()}
	var paths []string
	for i, st := range []Status{StatusSucceeded, StatusFailed, StatusSucceeded} {
		pEntry, err := s.Write(sample("acme-eu", "staging", st, "v"+string(rune('1'+i))))
		p := pEntry.Path
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	if _, err := s.Write(sample("acme", "staging", StatusSucceeded, "other")); err != nil {
		t.Fatal(err)
	}
	got, err := s.List("acme-eu", "staging")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("List returned %d records, want 3 (the other tenant's must not match)", len(got))
	}
	if got[0].Path != paths[2] || got[2].Path != paths[0] {
		t.Fatalf("not newest first: %v", []string{got[0].Path, got[1].Path, got[2].Path})
	}
	if got[2].Record.PrevRecordSHA256 != "" {
		t.Fatal("first record has a predecessor hash")
	}
	for i := 0; i < 2; i++ {
		if got[i].Record.PrevRecordSHA256 != got[i+1].SHA256 {
			t.Fatalf("record %d does not chain to its predecessor", i)
		}
	}
	if got[0].Record.SchemaVersion != 1 || got[0].Record.FinishedAt.IsZero() {
		t.Fatalf("Write did not fill schema_version/finished_at: %+v", got[0].Record)
	}
	last, ok, err := s.LastSucceeded("acme-eu", "staging", 1)
	if err != nil || !ok || last.Record.VersionID != "v1" {
		t.Fatalf("LastSucceeded(skip 1) = %v %v %v, want v1", last.Record.VersionID, ok, err)
	}
	if _, ok, _ := s.LastSucceeded("acme-eu", "staging", 2); ok {
		t.Fatal("LastSucceeded found a third success")
	}
	if probs, err := Verify(s.Dir); err != nil || len(probs) != 0 {
		t.Fatalf("Verify of a clean folder: %v %v", probs, err)
	}
	// Every field of the documented format is present, in snake_case.
	b, _ := os.ReadFile(paths[0])
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range requiredKeys {
		if _, ok := raw[k]; !ok {
			t.Errorf("field %s missing from the written record", k)
		}
	}
}

func TestWriteNeverOverwritesAndNamesStayOrdered(t *testing.T) {
	frozen := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	s := &Store{Dir: t.TempDir(), Now: func() time.Time { return frozen }}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Write(sample("acme", "production", StatusSucceeded, "v"))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List("acme", "production")
	if err != nil || len(got) != n {
		t.Fatalf("%d records, err %v; want %d (none overwritten)", len(got), err, n)
	}
	if probs, _ := Verify(s.Dir); len(probs) != 0 {
		t.Fatalf("concurrent writers broke the chain: %v", probs)
	}
	left, _ := filepath.Glob(filepath.Join(s.Dir, ".record-*"))
	if len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

func TestWriteScrubsSecrets(t *testing.T) {
	const canary = "cfcanary-0123456789abcdef"
	s := &Store{Dir: t.TempDir(), Now: seq()}
	rec := sample("acme", "staging", StatusFailed, "")
	rec.Error = "wrangler said: bad token " + canary
	pEntry, err := s.Write(rec, canary)
	p := pEntry.Path
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if strings.Contains(string(b), canary) {
		t.Fatalf("token written into the record: %s", b)
	}
	if !strings.Contains(string(b), "[REDACTED]") {
		t.Fatal("no redaction marker")
	}
	if strings.Contains(pEntry.Record.Error, canary) || !strings.Contains(pEntry.Record.Error, "[REDACTED]") {
		t.Errorf("the entry returned holds %q, want the record as stored", pEntry.Record.Error)
	}
}

// Write returns the entry as Entries would read it back: path, hash and the filled record.
func TestWriteReturnsTheEntryItWrote(t *testing.T) {
	s := &Store{Dir: t.TempDir(), Now: seq()}
	first, err := s.Write(sample("acme", "staging", StatusSucceeded, "v1"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Write(sample("acme", "staging", StatusSucceeded, "v2"))
	if err != nil {
		t.Fatal(err)
	}
	read, err := s.Entries("acme", "staging")
	if err != nil || len(read) != 2 {
		t.Fatalf("entries %v, %v", read, err)
	}
	if read[0].Path != second.Path || read[0].SHA256 != second.SHA256 || read[1].SHA256 != first.SHA256 {
		t.Errorf("returned %s %s / %s, read back %s %s / %s", second.Path, second.SHA256, first.SHA256, read[0].Path, read[0].SHA256, read[1].SHA256)
	}
	if second.Record.PrevRecordSHA256 != first.SHA256 || second.Record.SchemaVersion != SchemaVersion || second.Record.FinishedAt.IsZero() {
		t.Errorf("returned record %+v lacks the fields Write fills", second.Record)
	}
}

func TestWriteRefusesPathsInNames(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	if _, err := s.Write(sample("../x", "staging", StatusFailed, "")); err == nil {
		t.Fatal("a tenant with a path separator was written")
	}
}

func writeN(t *testing.T, s *Store, n int) []string {
	t.Helper()
	var paths []string
	for i := range n {
		pEntry, err := s.Write(sample("acme", "staging", StatusSucceeded, "v"+string(rune('a'+i))))
		p := pEntry.Path
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func TestVerifyNamesTampering(t *testing.T) {
	cases := []struct {
		name     string
		tamper   func(t *testing.T, paths []string)
		wantFile int // index into paths of the file that must be named
		wantMsg  string
	}{
		{"edited in place", func(t *testing.T, p []string) {
			b, _ := os.ReadFile(p[1])
			b = []byte(strings.Replace(string(b), `"status": "succeeded"`, `"status": "failed"`, 1))
			os.WriteFile(p[1], b, 0o644)
		}, 1, "edited"},
		{"edited and reformatted", func(t *testing.T, p []string) {
			b, _ := os.ReadFile(p[1])
			var m map[string]any
			json.Unmarshal(b, &m)
			m["actor"] = "mallory"
			b, _ = json.Marshal(m)
			os.WriteFile(p[1], b, 0o644)
		}, 1, "edited"},
		{"newest reformatted", func(t *testing.T, p []string) {
			b, _ := os.ReadFile(p[3])
			var m map[string]any
			json.Unmarshal(b, &m)
			m["status"] = "succeeded"
			b, _ = json.MarshalIndent(m, "", "\t")
			os.WriteFile(p[3], b, 0o644)
		}, 3, "edited"},
		{"middle deleted", func(t *testing.T, p []string) { os.Remove(p[2]) }, 1, "deleted"},
		{"first deleted", func(t *testing.T, p []string) { os.Remove(p[0]) }, 1, "deleted"},
		{"two swapped by renaming", func(t *testing.T, p []string) {
			tmp := p[1] + ".x"
			os.Rename(p[1], tmp)
			os.Rename(p[2], p[1])
			os.Rename(tmp, p[2])
		}, 1, "reordered"},
		{"unknown field added", func(t *testing.T, p []string) {
			b, _ := os.ReadFile(p[3])
			os.WriteFile(p[3], []byte(strings.Replace(string(b), "{", `{"approved_by":"x",`, 1)), 0o644)
		}, 3, "format"},
		{"field removed", func(t *testing.T, p []string) {
			b, _ := os.ReadFile(p[3])
			var m map[string]any
			json.Unmarshal(b, &m)
			delete(m, "git_sha")
			b, _ = json.Marshal(m)
			os.WriteFile(p[3], b, 0o644)
		}, 3, "missing field git_sha"},
		{"moved to another tenant's name", func(t *testing.T, p []string) {
			os.Rename(p[3], strings.Replace(p[3], "acme-staging-", "acme-production-", 1))
		}, -1, "file name says acme/production"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Store{Dir: t.TempDir(), Now: seq()}
			paths := writeN(t, s, 4)
			tc.tamper(t, paths)
			probs, err := Verify(s.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(probs) == 0 {
				t.Fatal("tampering not detected")
			}
			found := false
			for _, p := range probs {
				if (tc.wantFile < 0 || p.File == filepath.Base(paths[tc.wantFile])) && strings.Contains(p.Message, tc.wantMsg) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no problem naming file #%d with %q; got %v", tc.wantFile, tc.wantMsg, probs)
			}
		})
	}
}

func TestFindProvenance(t *testing.T) {
	env := map[string]string{"GITHUB_ACTOR": "octocat"}
	p := Find(context.Background(), t.TempDir(), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if p.Actor != "github:octocat" {
		t.Fatalf("actor %q, want the CI identity", p.Actor)
	}
	if p.GitSHA != "" {
		t.Fatalf("a folder outside git has sha %q", p.GitSHA)
	}
}
