package drift

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rainbowsmoke/crispy-enigma/internal/cfapi"
)

// uploadMeta is shaped like the metadata part of `wrangler deploy --dry-run --outfile`.
const uploadMeta = `{"main_module":"index.js","bindings":[
 {"name":"TENANT_ID","type":"plain_text","text":"mrrainbowsmoke"},
 {"name":"LOG_LEVEL","type":"plain_text","text":"info"},
 {"name":"LIMITS","type":"json","json":{"max":3,"burst":5}},
 {"name":"CACHE","type":"kv_namespace","namespace_id":"8e7fc1defecc23f57579b090676292e4"},
 {"name":"COUNTER","type":"durable_object_namespace","class_name":"Counter"},
 {"name":"VECTORIZE","type":"vectorize","index_name":"docs-staging"},
 {"name":"AI","type":"ai"},
 {"name":"CF_VERSION_METADATA","type":"version_metadata"}],
 "compatibility_date":"2026-01-20","compatibility_flags":["nodejs_compat"]}`

// liveBindings is the same set as the API returns it: another order, other key order and
// spacing, Cloudflare's own extra fields, and the Worker's secrets.
const liveBindings = `[
 {"type":"version_metadata","name":"CF_VERSION_METADATA"},
 {"name":"AI","type":"ai"},
 {"class_name":"Counter","name":"COUNTER","type":"durable_object_namespace","namespace_id":"do-123","script_name":null},
 {"type":"json","name":"LIMITS","json":{"burst":5,"max":3}},
 {"name":"AI_GATEWAY_TOKEN","type":"secret_text"},
 {"name":"WEBHOOK_SIGNING_KEY","type":"secret_text"},
 {"index_name":"docs-staging","name":"VECTORIZE","type":"vectorize"},
 {"type":"plain_text","name":"LOG_LEVEL","text":"info"},
 {"namespace_id":"8e7fc1defecc23f57579b090676292e4","name":"CACHE","type":"kv_namespace"},
 {"name":"TENANT_ID","type":"plain_text","text":"mrrainbowsmoke"}]`

func desired(t *testing.T) Desired {
	t.Helper()
	d := Desired{
		CodeSHA256:      "aaaa",
		RequiredSecrets: []string{"WEBHOOK_SIGNING_KEY", "AI_GATEWAY_TOKEN"},
		Crons:           []string{"0 * * * *"},
		RecordedVersion: "v-1",
	}
	if err := d.FromUploadMetadata([]byte(uploadMeta)); err != nil {
		t.Fatal(err)
	}
	return d
}

func live(t *testing.T) Live {
	t.Helper()
	bs, err := cfapi.ParseBindings([]byte(liveBindings))
	if err != nil {
		t.Fatal(err)
	}
	return Live{
		Deployed: true, VersionID: "v-1", CodeSHA256: "aaaa", Bindings: bs,
		CompatibilityDate: "2026-01-20", CompatibilityFlags: []string{"nodejs_compat"},
		Secrets: []string{"AI_GATEWAY_TOKEN", "WEBHOOK_SIGNING_KEY", "EXTRA_OPTIONAL"},
		Crons:   []string{"0 * * * *"},
	}
}

func bindingsWith(t *testing.T, l Live, edit func(raw []map[string]any) []map[string]any) cfapi.Bindings {
	t.Helper()
	var raw []map[string]any
	if err := json.Unmarshal([]byte(liveBindings), &raw); err != nil {
		t.Fatal(err)
	}
	raw = edit(raw)
	b, _ := json.Marshal(raw)
	bs, err := cfapi.ParseBindings(b)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(t *testing.T, d *Desired, l *Live)
		status Status
		want   Changes
	}{
		{name: "identical despite order, formatting and server fields", status: InSync},
		{name: "not deployed", edit: func(t *testing.T, d *Desired, l *Live) { *l = Live{} }, status: Missing},
		{name: "code differs", edit: func(t *testing.T, d *Desired, l *Live) { l.CodeSHA256 = "bbbb" }, status: Drifted,
			want: Changes{Changed: []Change{{Field: "code", Expected: "sha256:aaaa", Actual: "sha256:bbbb"}}}},
		{name: "var value changed", status: Drifted, edit: func(t *testing.T, d *Desired, l *Live) {
			l.Bindings = bindingsWith(t, *l, func(r []map[string]any) []map[string]any {
				for _, b := range r {
					if b["name"] == "LOG_LEVEL" {
						b["text"] = "debug"
					}
				}
				return r
			})
		}, want: Changes{Changed: []Change{{Field: "vars.LOG_LEVEL", Expected: "info", Actual: "debug"}}}},
		{name: "json var changed", status: Drifted, edit: func(t *testing.T, d *Desired, l *Live) {
			l.Bindings = bindingsWith(t, *l, func(r []map[string]any) []map[string]any {
				for _, b := range r {
					if b["name"] == "LIMITS" {
						b["json"] = map[string]any{"max": 4, "burst": 5}
					}
				}
				return r
			})
		}, want: Changes{Changed: []Change{{Field: "vars.LIMITS", Expected: `{"burst":5,"max":3}`, Actual: `{"burst":5,"max":4}`}}}},
		{name: "binding removed and var added", status: Drifted, edit: func(t *testing.T, d *Desired, l *Live) {
			l.Bindings = bindingsWith(t, *l, func(r []map[string]any) []map[string]any {
				var out []map[string]any
				for _, b := range r {
					if b["name"] != "CACHE" {
						out = append(out, b)
					}
				}
				return append(out, map[string]any{"name": "DEBUG", "type": "plain_text", "text": "1"})
			})
		}, want: Changes{
			Added:   []Change{{Field: "vars.DEBUG", Actual: "1"}},
			Removed: []Change{{Field: "bindings.CACHE", Expected: `kv_namespace CACHE {"namespace_id":"8e7fc1defecc23f57579b090676292e4"}`}},
		}},
		{name: "binding points elsewhere", status: Drifted, edit: func(t *testing.T, d *Desired, l *Live) {
			l.Bindings = bindingsWith(t, *l, func(r []map[string]any) []map[string]any {
				for _, b := range r {
					if b["name"] == "VECTORIZE" {
						b["index_name"] = "docs-production"
					}
				}
				return r
			})
		}, want: Changes{Changed: []Change{{Field: "bindings.VECTORIZE", Expected: `vectorize VECTORIZE {"index_name":"docs-staging"}`, Actual: `vectorize VECTORIZE {"index_name":"docs-production"}`}}}},
		{name: "required secret deleted; extra secrets are fine", status: Drifted, edit: func(t *testing.T, d *Desired, l *Live) {
			l.Secrets = []string{"AI_GATEWAY_TOKEN", "EXTRA_OPTIONAL"}
		}, want: Changes{Removed: []Change{{Field: "secrets.WEBHOOK_SIGNING_KEY", Expected: "set (value not compared)"}}}},
		{name: "cron changed is one removed and one added", status: Drifted, edit: func(t *testing.T, d *Desired, l *Live) {
			l.Crons = []string{"*/5 * * * *"}
		}, want: Changes{Added: []Change{{Field: "triggers.crons", Actual: "*/5 * * * *"}}, Removed: []Change{{Field: "triggers.crons", Expected: "0 * * * *"}}}},
		{name: "unmanaged crons are not compared", status: InSync, edit: func(t *testing.T, d *Desired, l *Live) {
			d.Crons, l.Crons = nil, []string{"*/5 * * * *"}
		}},
		{name: "cron order and duplicates do not count", status: InSync, edit: func(t *testing.T, d *Desired, l *Live) {
			d.Crons, l.Crons = []string{"0 * * * *", "30 2 * * *"}, []string{"30 2 * * *", "0 * * * *", "0 * * * *"}
		}},
		{name: "compat date and flags", status: Drifted, edit: func(t *testing.T, d *Desired, l *Live) {
			l.CompatibilityDate, l.CompatibilityFlags = "2025-01-01", []string{"nodejs_compat", "url_standard"}
		}, want: Changes{
			Added:   []Change{{Field: "compatibility_flags", Actual: "url_standard"}},
			Changed: []Change{{Field: "compatibility_date", Expected: "2026-01-20", Actual: "2025-01-01"}},
		}},
		{name: "route and domain added outside the repo", status: Drifted, edit: func(t *testing.T, d *Desired, l *Live) {
			d.Domains = []string{"api.example.com"}
			l.Routes, l.Domains = []string{"example.com/*"}, []string{"api.example.com"}
		}, want: Changes{Added: []Change{{Field: "routes", Actual: "example.com/*"}}}},
		{name: "deployed outside the tool", status: Drifted, edit: func(t *testing.T, d *Desired, l *Live) { l.VersionID = "v-2" },
			want: Changes{Changed: []Change{{Field: "version", Expected: "v-1 (last succeeded record)", Actual: "v-2 (deployed outside this tool)"}}}},
		{name: "a secret put mints a version: not an outside deploy", status: InSync, edit: func(t *testing.T, d *Desired, l *Live) {
			l.VersionID, l.TriggeredBy = "v-2", "secret"
		}},
		{name: "no record: version not judged", status: InSync, edit: func(t *testing.T, d *Desired, l *Live) { d.RecordedVersion, l.VersionID = "", "v-9" }},
		{name: "split traffic", status: Drifted, edit: func(t *testing.T, d *Desired, l *Live) {
			l.Split = []cfapi.TrafficSplit{{VersionID: "v-1", Percentage: 90}, {VersionID: "v-0", Percentage: 10}}
		}, want: Changes{Changed: []Change{{Field: "deployment", Expected: "one version at 100%", Actual: "v-1@90% v-0@10%"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, l := desired(t), live(t)
			if tc.edit != nil {
				tc.edit(t, &d, &l)
			}
			status, got := Compare(d, l)
			if status != tc.status {
				t.Errorf("status = %s, want %s (changes %+v)", status, tc.status, got)
			}
			if g, w := dump(got), dump(tc.want); g != w {
				t.Errorf("changes\n got: %s\nwant: %s", g, w)
			}
		})
	}
}

func dump(c Changes) string {
	var b strings.Builder
	for _, group := range []struct {
		n  string
		cs []Change
	}{{"added", c.Added}, {"removed", c.Removed}, {"changed", c.Changed}} {
		for _, x := range group.cs {
			b.WriteString(group.n + " " + x.String() + "; ")
		}
	}
	return b.String()
}

func TestFromUploadMetadataRejectsGarbage(t *testing.T) {
	var d Desired
	if err := d.FromUploadMetadata([]byte(`{"bindings":[{"type":"ai"}]}`)); err == nil {
		t.Error("a binding without a name was accepted")
	}
	if err := d.FromUploadMetadata([]byte(`not json`)); err == nil {
		t.Error("non-JSON metadata was accepted")
	}
}
