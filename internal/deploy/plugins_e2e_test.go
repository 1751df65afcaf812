package deploy

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/history"
	"github.com/rainbowsmoke/crispy-enigma/internal/plugins"
)

func plugin(t *testing.T, root, rel, body string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestDeployPlugins runs the real wrangler against the sandbox with plugin scripts in place:
// a post-deploy plugin that exits 1 makes a changed deploy end rolled_back with the old
// version live and the plugin named; a pre-deploy plugin that exits 1 refuses the deploy with
// no new version uploaded; the plugins are in the record and their output in its log.
func TestDeployPlugins(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	const tn, worker = "mrrainbowsmoke", "mrrainbowsmoke-api-staging"
	u, _ := url.Parse(w.srv.URL)
	runner := &plugins.Runner{Root: w.ws.Root, Connect: u.Host}
	opts := func(progress *bytes.Buffer) Options {
		o := w.opts(t, tn, "staging", progress)
		o.Plugins = runner
		return o
	}
	var progress bytes.Buffer

	// A good first deploy, with a post-deploy plugin that passes and sees the facts.
	// The tenant's token is in this process's environment too: it must not reach a plugin.
	t.Setenv("CLOUDFLARE_API_TOKEN_MRRAINBOWSMOKE", tenants[0].token)
	seen, envDump := filepath.Join(t.TempDir(), "seen"), filepath.Join(t.TempDir(), "env")
	plugin(t, w.ws.Root, "tenants/"+tn+"/plugins/post-deploy/10-check", `echo "$DEPLOY_TENANT $DEPLOY_ENV $DEPLOY_VERSION_ID" > `+seen+`; env > `+envDump)
	first, err := Run(ctx, opts(&progress))
	if err != nil {
		t.Fatalf("first deploy: %v\n%s", err, progress.String())
	}
	got, _ := os.ReadFile(seen)
	if want := tn + " staging " + first.Record.VersionID + "\n"; string(got) != want {
		t.Errorf("the post-deploy plugin saw %q, want %q", got, want)
	}
	if dump, _ := os.ReadFile(envDump); len(dump) == 0 || bytes.Contains(dump, []byte(tenants[0].token)) {
		t.Errorf("the plugin's environment is empty or holds the tenant's token:\n%s", dump)
	}
	if len(first.Record.Plugins) != 1 || first.Record.Plugins[0].Name != "tenants/"+tn+"/plugins/post-deploy/10-check" || first.Record.PluginLog == "" {
		t.Errorf("record plugins %+v, log %q", first.Record.Plugins, first.Record.PluginLog)
	}

	w.setSecrets(t, tn, worker) // the next deploy's preflight requires them; live is now v1
	v1 := w.live(t, tn, worker)

	// A failing post-deploy plugin rolls a changed deploy back.
	plugin(t, w.ws.Root, "plugins/post-deploy/05-smoke", "echo smoke says no; exit 1")
	w.bumpCode(t, "postdeploy")
	progress.Reset()
	out, err := Run(ctx, opts(&progress))
	if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusRolledBack {
		t.Fatalf("status %s, err %v\n%s", out.Record.Status, err, progress.String())
	}
	if !strings.Contains(out.Record.Error, "plugins/post-deploy/05-smoke") {
		t.Errorf("the record's error does not name the plugin: %s", out.Record.Error)
	}
	if live := w.live(t, tn, worker); live != v1 {
		t.Errorf("live %s after the rollback, want the old %s", live, v1)
	}
	var failed *history.PluginRun
	for i, p := range out.Record.Plugins {
		if p.Name == "plugins/post-deploy/05-smoke" {
			failed = &out.Record.Plugins[i]
		}
	}
	if failed == nil || failed.Exit != 1 {
		t.Errorf("the record's plugins %+v lack the failed one with exit 1", out.Record.Plugins)
	}
	log, _ := os.ReadFile(filepath.Join(w.ws.Root, out.Record.PluginLog))
	if !strings.Contains(string(log), "smoke says no") {
		t.Errorf("the plugin log %s lacks the plugin's output:\n%s", out.Record.PluginLog, log)
	}

	// A failing pre-deploy plugin refuses before anything is uploaded.
	if err := os.Remove(filepath.Join(w.ws.Root, "plugins/post-deploy/05-smoke")); err != nil {
		t.Fatal(err)
	}
	plugin(t, w.ws.Root, "plugins/pre-deploy/10-freeze", "echo change freeze >&2; exit 1")
	w.bumpCode(t, "predeploy")
	before := w.versions(t, tn, worker)
	progress.Reset()
	out, err = Run(ctx, opts(&progress))
	if !errors.Is(err, ErrFailed) || out.Record.Status != history.StatusFailed || !strings.Contains(out.Record.Error, "plugins/pre-deploy/10-freeze") {
		t.Fatalf("status %s, err %v", out.Record.Status, err)
	}
	if after := w.versions(t, tn, worker); after != before {
		t.Errorf("a refused deploy uploaded: %d versions before, %d after", before, after)
	}
	if live := w.live(t, tn, worker); live != v1 {
		t.Errorf("live %s, want %s", live, v1)
	}
}
