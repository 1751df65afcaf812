package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

func TestFingerprintSeesEveryDeployInput(t *testing.T) {
	base := func() (wrangler.Bundle, tenant.ResolvedEnv) {
		return wrangler.Bundle{SHA256: "aa", Metadata: []byte(`{"main_module":"index.js","bindings":[{"name":"TENANT_ID","type":"plain_text","text":"acme"}],"compatibility_date":"2026-01-01"}`)},
			tenant.ResolvedEnv{WorkerName: "acme-api-staging", AccountID: "acct", Crons: []string{"0 * * * *"}, WorkersDev: true}
	}
	b0, r0 := base()
	fp0, err := Fingerprint(b0, r0)
	if err != nil {
		t.Fatal(err)
	}
	// Same inputs, metadata keys in another order: same fingerprint.
	b1, r1 := base()
	b1.Metadata = []byte(`{"compatibility_date":"2026-01-01","bindings":[{"type":"plain_text","text":"acme","name":"TENANT_ID"}],"main_module":"index.js"}`)
	if fp, _ := Fingerprint(b1, r1); fp != fp0 {
		t.Fatal("key order changed the fingerprint")
	}
	changes := map[string]func(*wrangler.Bundle, *tenant.ResolvedEnv){
		"code": func(b *wrangler.Bundle, _ *tenant.ResolvedEnv) { b.SHA256 = "bb" },
		"var": func(b *wrangler.Bundle, _ *tenant.ResolvedEnv) {
			b.Metadata = []byte(strings.Replace(string(b.Metadata), `"acme"`, `"other"`, 1))
		},
		"compat date": func(b *wrangler.Bundle, _ *tenant.ResolvedEnv) {
			b.Metadata = []byte(strings.Replace(string(b.Metadata), "2026-01-01", "2026-02-01", 1))
		},
		"cron": func(_ *wrangler.Bundle, r *tenant.ResolvedEnv) { r.Crons = []string{"*/5 * * * *"} },
		"route": func(_ *wrangler.Bundle, r *tenant.ResolvedEnv) {
			r.Routes = []tenant.Route{{Pattern: "x.example.com/*"}}
		},
		"worker name": func(_ *wrangler.Bundle, r *tenant.ResolvedEnv) { r.WorkerName = "acme-api" },
		"workers.dev": func(_ *wrangler.Bundle, r *tenant.ResolvedEnv) { r.WorkersDev = false },
		"migration":   func(_ *wrangler.Bundle, r *tenant.ResolvedEnv) { r.Migrations = []tenant.Migration{{Tag: "v2"}} },
	}
	for name, change := range changes {
		b, r := base()
		change(&b, &r)
		if fp, err := Fingerprint(b, r); err != nil || fp == fp0 {
			t.Errorf("%s: fingerprint unchanged (%v)", name, err)
		}
	}
	if _, err := Fingerprint(wrangler.Bundle{Metadata: []byte("{")}, r0); err == nil {
		t.Error("broken metadata accepted")
	}
}

func TestAnnotationRoundTrip(t *testing.T) {
	for msg, want := range map[string]string{
		AnnotationMessage("abc123", "deadbeef"): "abc123",
		AnnotationMessage("abc123", ""):         "abc123",
		"Rollback":                              "",
		"":                                      "",
		"note fp:ffff git:1":                    "ffff",
	} {
		if got := FingerprintOf(msg); got != want {
			t.Errorf("FingerprintOf(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestSummary(t *testing.T) {
	rec := history.Record{Tenant: "acme", Env: "staging", Status: history.StatusRolledBack, VersionID: "v2", URL: "https://u/health"}
	s := summary(Outcome{Record: rec, RecordFile: "deployments/x.json"}, 1500*time.Millisecond)
	for _, want := range []string{"acme/staging", "rolled_back", "v2", "https://u/health", "1.5s", "deployments/x.json"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary %q lacks %q", s, want)
		}
	}
	dry := summary(Outcome{DryRun: true, Record: history.Record{Tenant: "acme", Env: "staging"}, Plan: Plan{Worker: "w", Unchanged: true, Fingerprint: "0123456789abcdef"}}, time.Second)
	if !strings.Contains(dry, "dry run") || !strings.Contains(dry, "unchanged") {
		t.Errorf("dry-run summary %q", dry)
	}
	// Issue 15: a real deploy whose record could not be written is not a dry run.
	lost := summary(Outcome{Record: history.Record{Tenant: "acme", Env: "staging", Status: history.StatusFailed}, Plan: Plan{Worker: "w", Fingerprint: "0123456789abcdef"}}, time.Second)
	if strings.Contains(lost, "dry run") || !strings.Contains(lost, "failed") {
		t.Errorf("summary of a deploy without a record file %q", lost)
	}
}

// AnnotationMessage is, for these tests, the workers/message of a deploy that carries only a fingerprint and a
// commit (see Annotation for the full form).
func AnnotationMessage(fingerprint, gitSHA string) string {
	return Annotation{Fingerprint: fingerprint, GitSHA: gitSHA}.String()
}

// FingerprintOf reads the fingerprint out of a workers/message ("" when there is none).
func FingerprintOf(message string) string {
	return ParseAnnotation(message).Fingerprint
}
