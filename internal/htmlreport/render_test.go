package htmlreport_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/browser"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/htmlreport"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func write(t *testing.T, d htmlreport.Data) (string, []byte) {
	t.Helper()
	d.Compute(context.Background(), nil)
	var b bytes.Buffer
	if err := htmlreport.Render(&b, d); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b.Bytes()
}

func TestRenderIsSelfContained(t *testing.T) {
	d := htmlreport.Synthetic(6, now, 1)
	d.Rows[0].Error = `<script>alert("x")</script>`
	_, html := write(t, d)
	s := string(html)
	for _, bad := range []string{"ZgotmplZ", "<script", "<link", "<img", "@import", "url("} {
		if strings.Contains(s, bad) {
			t.Errorf("the report contains %q", bad)
		}
	}
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).FindString(s); m != "" {
		t.Errorf("the report links out: %s", m)
	}
	for _, want := range []string{"Fleet matrix", "Delivery metrics", "Deploy timelines", `id="rec-syn-0001-production"`, `href="#rec-syn-0006-staging"`, "<svg"} {
		if !strings.Contains(s, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// The report in a real browser: every tenant and every live version is in the DOM Chromium
// builds, and the screenshot is not blank. Under CI=true a missing Chromium fails the test
// (browser.Need); elsewhere the test says it did not run.
func TestRenderInHeadlessChromium(t *testing.T) {
	c := browser.Chromium{Timeout: 90 * time.Second}
	c.Need(t)
	d := htmlreport.Synthetic(12, now, 2)
	file, _ := write(t, d)
	ctx := context.Background()
	dom, _, err := c.DumpDOM(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range d.Tenants {
		if !strings.Contains(dom, `data-tenant="`+tn+`"`) {
			t.Errorf("the DOM has no matrix row for %s", tn)
		}
	}
	versions := 0
	for _, r := range d.Rows {
		for _, v := range r.Versions {
			versions++
			if !strings.Contains(dom, v.VersionID) {
				t.Errorf("the DOM lacks %s/%s's version %s", r.Tenant, r.Env, v.VersionID)
			}
		}
	}
	if versions < 12 {
		t.Fatalf("only %d versions in the synthetic fleet", versions)
	}
	png := filepath.Join(t.TempDir(), "shot.png")
	if _, err := c.Screenshot(ctx, file, png, 1280, 1600); err != nil {
		t.Fatal(err)
	}
	n, err := browser.Colours(png)
	if err != nil {
		t.Fatal(err)
	}
	if n < 16 {
		t.Fatalf("the screenshot has %d distinct colours: blank, or the styles did not apply", n)
	}
	t.Logf("screenshot: %d distinct colours", n)
}

// A damaged record the report left out is named in a notice at the top, escaped like the
// rest; a report without one has no notice.
func TestRenderNamesSkippedRecords(t *testing.T) {
	d := htmlreport.Synthetic(2, now, 1)
	_, html := write(t, d)
	if strings.Contains(string(html), "skipped-records") {
		t.Error("a notice without a damaged record")
	}
	d.Skipped = []history.Damaged{{File: "syn-0001-staging-20261201T100000.000000000Z.json", Path: "deployments/syn-0001-staging-20261201T100000.000000000Z.json",
		Tenant: "syn-0001", Env: "staging", Reason: `not valid JSON: <script>x</script>`}}
	_, html = write(t, d)
	s := string(html)
	for _, want := range []string{`id="skipped-records"`, "1 damaged record(s) left out of this report",
		`href="deployments/syn-0001-staging-20261201T100000.000000000Z.json"`, "history:verify", "deploy-records"} {
		if !strings.Contains(s, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(s, "<script") {
		t.Error("a damaged record's reason is not escaped")
	}
}
