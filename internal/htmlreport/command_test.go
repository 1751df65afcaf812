package htmlreport_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rainbowsmoke/crispy-enigma/internal/browser"
	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/htmlreport"
	"github.com/rainbowsmoke/crispy-enigma/internal/testrepo"
)

// report:html -offline=true over a workspace's records: the file lands where asked, names every
// tenant (one known only from its records too), and its record links reach the record files
// from where the report was written.
func TestCommandOfflineLinksReachTheRecords(t *testing.T) {
	ws := testrepo.Copy(t, testrepo.Repo(t), testrepo.Options{})
	st := history.Open(ws.DeploymentsDir())
	at := now.Add(-48 * time.Hour)
	for i, r := range []history.Record{
		{Tenant: "mrrainbowsmoke", Env: "staging", Status: history.StatusSucceeded, VersionID: "v-ok"},
		{Tenant: "rainbowsmokeofficial", Env: "production", Status: history.StatusRolledBack, VersionID: "v-bad", Error: "health: 503"},
		{Tenant: "retired", Env: "staging", Status: history.StatusSucceeded, VersionID: "v-old"},
	} {
		r.Kind, r.Actor = history.KindDeploy, "ci"
		r.StartedAt = at.Add(time.Duration(i) * time.Hour)
		st.Now = func() time.Time { return r.StartedAt.Add(time.Minute) }
		if _, err := st.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "sub", "fleet.html")
	var stderr bytes.Buffer
	got, err := htmlreport.Command(context.Background(), ws, slog.New(slog.DiscardHandler),
		htmlreport.Request{Out: out, Since: "7d", Offline: true, Now: now}, &stderr)
	if err != nil || got != out {
		t.Fatalf("Command: %q %v", got, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`data-tenant="mrrainbowsmoke"`, `data-tenant="rainbowsmokeofficial"`, `data-tenant="retired"`,
		"v-ok", "v-bad", "last_failed", "no_records", "health: 503"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	links := regexp.MustCompile(`href="([^"#][^"]*\.json)"`).FindAllStringSubmatch(s, -1)
	if len(links) != 3 {
		t.Fatalf("%d record links, want 3", len(links))
	}
	for _, l := range links {
		p, _ := url.PathUnescape(l[1])
		if _, err := os.Stat(filepath.Join(filepath.Dir(out), filepath.FromSlash(p))); err != nil {
			t.Errorf("link %s does not reach a record: %v", l[1], err)
		}
	}
	if _, err := htmlreport.Command(context.Background(), ws, nil, htmlreport.Request{Out: out + ".txt", Since: "7d", Offline: true}, &stderr); err == nil {
		t.Error("a non-.html -out was accepted")
	}
	if _, err := htmlreport.Command(context.Background(), ws, nil, htmlreport.Request{Out: out, Since: "soon", Offline: true}, &stderr); err == nil {
		t.Error("a bad -since was accepted")
	}

	// And the same file in Chromium: every tenant's row is in the DOM.
	c := browser.Chromium{Timeout: 90 * time.Second}
	c.Need(t)
	dom, _, err := c.DumpDOM(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(dom, `data-tenant="`); n != 3 {
		t.Errorf("chromium's DOM has %d tenant rows, want 3", n)
	}
}
