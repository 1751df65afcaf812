package deploy

import (
	"errors"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
	"github.com/rainbowsmoke/crispy-enigma/internal/tenant"
	"github.com/rainbowsmoke/crispy-enigma/internal/wrangler"
)

func TestAnnotationCarriesInputsAndBundle(t *testing.T) {
	full := Annotation{Fingerprint: strings.Repeat("a", 64), Inputs: strings.Repeat("b", 64), Bundle: strings.Repeat("c", 64), GitSHA: strings.Repeat("d", 40)}
	msg := full.String()
	if got := ParseAnnotation(msg); got != full {
		t.Fatalf("round trip: %+v from %q", got, msg)
	}
	// Cloudflare truncates a deployment message after 1000 bytes; a cut annotation would
	// read as another fingerprint.
	if len(msg) > 1000 {
		t.Fatalf("annotation is %d bytes, more than Cloudflare keeps", len(msg))
	}
	// An annotation written before inputs were recorded still yields its fingerprint.
	if got := ParseAnnotation(AnnotationMessage("abc", "123")); got != (Annotation{Fingerprint: "abc", GitSHA: "123"}) {
		t.Fatalf("old form: %+v", got)
	}
	for _, msg := range []string{"", "Rollback", "rollback: deploy of x failed", "in", "fp"} {
		if got := ParseAnnotation(msg); got != (Annotation{}) {
			t.Errorf("ParseAnnotation(%q) = %+v, want nothing", msg, got)
		}
	}
}

// TestDecide walks the plan's decisions: with a local build the fingerprint decides; without
// one (the build deferred to the deploy) the inputs hash the live deployment carries does.
func TestDecide(t *testing.T) {
	const (
		fp, inputs, bundle = "fp1", "in1", "sha1"
		version            = "00000000-0000-4000-8000-000000000001"
	)
	live := func(msg string, pct ...float64) cfapi.Deployment {
		d := cfapi.Deployment{Message: msg}
		if len(pct) == 0 {
			pct = []float64{100}
		}
		for i, p := range pct {
			d.Versions = append(d.Versions, cfapi.TrafficSplit{VersionID: version[:len(version)-1] + string(rune('1'+i)), Percentage: p})
		}
		return d
	}
	annotated := Annotation{Fingerprint: fp, Inputs: inputs, Bundle: bundle, GitSHA: "g"}.String()
	built := Plan{Fingerprint: fp, BundleSHA256: bundle, Inputs: inputs}
	deferred := Plan{Inputs: inputs}
	cases := []struct {
		name      string
		ours      Plan
		live      cfapi.Deployment
		code      string // what the live version's code hashes to
		unchanged bool
		readsCode bool
		why       string
	}{
		{"built, same fingerprint and code", built, live(annotated), bundle, true, true, "already runs"},
		{"built, old annotation without inputs", built, live(AnnotationMessage(fp, "g")), bundle, true, true, "already runs"},
		{"built, other fingerprint", built, live(Annotation{Fingerprint: "fp2", Inputs: inputs}.String()), bundle, false, false, "differ from what is live"},
		{"built, code changed outside", built, live(annotated), "sha9", false, true, "other code"},
		{"built, hand deploy", built, live("Rollback"), bundle, false, false, "no fingerprint"},
		{"built, split traffic", built, live(annotated, 90, 10), bundle, false, false, "splits"},
		{"deferred, same inputs and code", deferred, live(annotated), bundle, true, true, "same files"},
		{"deferred, other inputs", deferred, live(Annotation{Fingerprint: fp, Inputs: "in2", Bundle: bundle}.String()), bundle, false, false, "differ from the ones"},
		{"deferred, old annotation without inputs", deferred, live(AnnotationMessage(fp, "g")), bundle, false, false, "does not name the inputs"},
		{"deferred, annotation without bundle", deferred, live(Annotation{Fingerprint: fp, Inputs: inputs}.String()), bundle, false, false, "does not name its bundle"},
		{"deferred, code changed outside", deferred, live(annotated), "sha9", false, true, "other code"},
		{"deferred, inputs not hashed", Plan{}, live(annotated), bundle, false, false, "could not be hashed"},
		{"deferred, hand deploy", deferred, live(""), bundle, false, false, "no fingerprint"},
		{"deferred, split traffic", deferred, live(annotated, 50, 50), bundle, false, false, "splits"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			read := false
			p, err := decide(c.ours, c.live, func(v string) (string, error) {
				read = true
				if v != c.live.Primary().VersionID {
					t.Errorf("read the code of %s, not of the live version %s", v, c.live.Primary().VersionID)
				}
				return c.code, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if p.Unchanged != c.unchanged || read != c.readsCode || !strings.Contains(p.Why, c.why) {
				t.Fatalf("unchanged=%v read code=%v why=%q; want %v %v %q", p.Unchanged, read, p.Why, c.unchanged, c.readsCode, c.why)
			}
			if p.LiveVersionID != c.live.Primary().VersionID || p.LiveFingerprint != ParseAnnotation(c.live.Message).Fingerprint {
				t.Fatalf("live side not reported: %+v", p)
			}
			// Unchanged without a build takes over the live build's fingerprint and bundle for
			// the record; otherwise ours stay as they were.
			wantFP, wantBundle := c.ours.Fingerprint, c.ours.BundleSHA256
			if c.unchanged {
				wantFP, wantBundle = fp, bundle
			}
			if p.Fingerprint != wantFP || p.BundleSHA256 != wantBundle {
				t.Fatalf("fingerprint %q bundle %q, want %q %q", p.Fingerprint, p.BundleSHA256, wantFP, wantBundle)
			}
		})
	}
	boom := errors.New("content/v2: 500")
	if _, err := decide(deferred, live(annotated), func(string) (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Fatalf("a failed code read must fail the plan, got %v", err)
	}
}

func TestFingerprintIgnoresTheUploadsOwnMigrations(t *testing.T) {
	r := tenant.ResolvedEnv{WorkerName: "acme-api-staging", AccountID: "acct", Migrations: []tenant.Migration{{Tag: "v1"}}}
	dry := []byte(`{"main_module":"index.js","compatibility_date":"2026-01-01"}`)
	real := []byte(`{"main_module":"index.js","compatibility_date":"2026-01-01","migrations":{"new_tag":"v1","new_sqlite_classes":["Counter"]}}`)
	fpDry, err := Fingerprint(wrangler.Bundle{SHA256: "aa", Metadata: dry}, r)
	if err != nil {
		t.Fatal(err)
	}
	fpReal, err := Fingerprint(wrangler.Bundle{SHA256: "aa", Metadata: real}, r)
	if err != nil {
		t.Fatal(err)
	}
	if fpDry != fpReal {
		t.Fatal("a real upload's migrations changed the fingerprint: a deploy that builds would never match a dry-run build")
	}
}
