package wrangler

import (
	"strings"
	"testing"
)

func TestParseEntries(t *testing.T) {
	in := `{"type":"wrangler-session","version":1,"wrangler_version":"4.63.0","command_line_args":["deploy"],"log_file_path":"/h/log.log","timestamp":"t"}

{"type":"deploy","version":1,"worker_name":"w-staging","worker_tag":"167e9960112046319d2f9f5b61bea9b8","version_id":"b54145b1-0000-4000-8000-000000000001","targets":["https://w-staging.acme.workers.dev","schedule: 0 * * * *"],"wrangler_environment":"staging","worker_name_overridden":false}
`
	es, err := parseEntries([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Type != "wrangler-session" || es[1].Type != "deploy" {
		t.Fatalf("entries = %+v", es)
	}
	var d deployEntry
	if ok, err := es.last("deploy", &d); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if d.WorkerName != "w-staging" || deref(d.VersionID) != "b54145b1-0000-4000-8000-000000000001" || deref(d.WorkerTag) == "" || len(d.Targets) != 2 {
		t.Errorf("deploy entry = %+v", d)
	}
	var f failedEntry
	if ok, _ := es.last("command-failed", &f); ok {
		t.Error("found a command-failed entry that is not there")
	}

	// A dry run: nulls, no targets.
	es, err = parseEntries([]byte(`{"type":"deploy","worker_name":"w","worker_tag":null,"version_id":null}`))
	if err != nil {
		t.Fatal(err)
	}
	d = deployEntry{}
	_, _ = es.last("deploy", &d)
	if d.WorkerTag != nil || d.VersionID != nil || d.Targets != nil {
		t.Errorf("dry-run entry = %+v", d)
	}

	if _, err := parseEntries([]byte("{\"type\":\"x\"}\nnot json\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad line: err = %v, want one naming line 2", err)
	}
}

func TestCommandFailedCode(t *testing.T) {
	for _, tc := range []struct{ line, code string }{
		{`{"type":"command-failed","code":10013,"message":"A request to the Cloudflare API (/x) failed."}`, "10013"},
		{`{"type":"command-failed","code":"ERR_TTY_INIT_FAILED","message":"TTY initialization failed"}`, "ERR_TTY_INIT_FAILED"},
		{`{"type":"command-failed","message":"fetch failed"}`, ""},
		{`{"type":"command-failed","code":null,"message":"m"}`, ""},
	} {
		es, err := parseEntries([]byte(tc.line))
		if err != nil {
			t.Fatal(err)
		}
		var f failedEntry
		if ok, err := es.last("command-failed", &f); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if got := f.codeString(); got != tc.code {
			t.Errorf("%s: code = %q, want %q", tc.line, got, tc.code)
		}
	}
}
