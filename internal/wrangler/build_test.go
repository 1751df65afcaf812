package wrangler

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type binding struct {
	Name, Type, Text, NamespaceID, ClassName string
}

func (b *binding) UnmarshalJSON(d []byte) error {
	var m struct {
		Name        string `json:"name"`
		Type        string `json:"type"`
		Text        string `json:"text"`
		NamespaceID string `json:"namespace_id"`
		ClassName   string `json:"class_name"`
	}
	err := json.Unmarshal(d, &m)
	*b = binding{m.Name, m.Type, m.Text, m.NamespaceID, m.ClassName}
	return err
}

func TestBuildFixtureEveryEnv(t *testing.T) {
	r := realRunner(t)
	for _, tc := range []struct{ env, worker, environment, kv string }{
		{"", "fixture-api-dev", "dev", "11111111111111111111111111111111"},
		{"staging", "fixture-api-staging", "staging", "22222222222222222222222222222222"},
	} {
		t.Run("env="+tc.env, func(t *testing.T) {
			out := t.TempDir()
			var shown lines
			inv := fixtureInvocation(t, tc.env)
			inv.Output = &shown
			b, err := r.Build(context.Background(), inv, out)
			if err != nil {
				t.Fatal(err)
			}
			if b.WorkerName != tc.worker {
				t.Errorf("WorkerName = %q, want %q", b.WorkerName, tc.worker)
			}
			code, err := os.ReadFile(b.MainModule)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(code, []byte(`"/health"`)) {
				t.Errorf("main module %s does not hold the fixture's code", b.MainModule)
			}
			if got := sha(code); got != b.SHA256 {
				t.Errorf("SHA256 = %s, file hashes to %s", b.SHA256, got)
			}
			var meta struct {
				MainModule        string    `json:"main_module"`
				CompatibilityDate string    `json:"compatibility_date"`
				Bindings          []binding `json:"bindings"`
			}
			if err := json.Unmarshal(b.Metadata, &meta); err != nil {
				t.Fatal(err)
			}
			if meta.CompatibilityDate != "2025-01-01" || filepath.Join(out, meta.MainModule) != b.MainModule {
				t.Errorf("metadata = %s", b.Metadata)
			}
			want := map[string]binding{
				"ENVIRONMENT": {Name: "ENVIRONMENT", Type: "plain_text", Text: tc.environment},
				"CACHE":       {Name: "CACHE", Type: "kv_namespace", NamespaceID: tc.kv},
				"COUNTER":     {Name: "COUNTER", Type: "durable_object_namespace", ClassName: "Counter"},
			}
			for _, got := range meta.Bindings {
				if w, ok := want[got.Name]; ok {
					if got != w {
						t.Errorf("binding %s = %+v, want %+v", got.Name, got, w)
					}
					delete(want, got.Name)
				}
			}
			if len(want) > 0 {
				t.Errorf("bindings missing from metadata: %v", want)
			}
			saved, err := os.ReadFile(filepath.Join(out, MetadataFile))
			if err != nil || !json.Valid(saved) {
				t.Errorf("%s not written as JSON: %v", MetadataFile, err)
			}
			if !strings.Contains(shown.String(), "--dry-run: exiting now.") {
				t.Errorf("wrangler's output was not shown:\n%s", shown.String())
			}
			if strings.Contains(shown.String(), "Multiple environments are defined") {
				t.Errorf("wrangler warned that no environment was chosen:\n%s", shown.String())
			}
		})
	}
}

// The same tree must build to the same bytes, or every deploy would look like a change.
func TestBuildIsDeterministic(t *testing.T) {
	r := realRunner(t)
	a, err := r.Build(context.Background(), fixtureInvocation(t, "staging"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Build(context.Background(), fixtureInvocation(t, "staging"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if a.SHA256 != b.SHA256 || !bytes.Equal(a.Metadata, b.Metadata) {
		t.Errorf("two builds differ:\n%s %s\n%s %s", a.SHA256, a.Metadata, b.SHA256, b.Metadata)
	}
}

func TestBuildBadConfigNamesTheProblem(t *testing.T) {
	r := realRunner(t)
	inv := fixtureInvocation(t, "nosuchenv")
	_, err := r.Build(context.Background(), inv, t.TempDir())
	ce, ok := errorsAsCommand(err)
	if !ok {
		t.Fatalf("err = %v, want *CommandError", err)
	}
	if !strings.Contains(ce.Error(), "nosuchenv") {
		t.Errorf("error does not name the environment: %v", ce)
	}
	if strings.Contains(ce.Stderr, "\x1b[") {
		t.Errorf("stderr kept ANSI escapes: %q", ce.Stderr)
	}
}

func TestUploadMetadata(t *testing.T) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("metadata", `{"main_module": "index.js", "bindings": []}`)
	w, _ := mw.CreateFormFile("index.js", "index.js")
	_, _ = w.Write([]byte("export default {}"))
	_ = mw.Close()
	got, err := uploadMetadata(body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"main_module":"index.js","bindings":[]}` {
		t.Errorf("metadata = %s", got)
	}

	var noMeta bytes.Buffer
	mw = multipart.NewWriter(&noMeta)
	_ = mw.WriteField("index.js", "x")
	_ = mw.Close()
	for name, in := range map[string][]byte{
		"no metadata part": noMeta.Bytes(),
		"not multipart":    []byte("hello\nworld"),
		"empty":            nil,
	} {
		if _, err := uploadMetadata(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
