package ci

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestUnformatted(t *testing.T) {
	root := t.TempDir()
	write := func(rel, src string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good.go", "package a\n\nfunc F() {}\n")
	write("pkg/bad.go", "package a\nfunc  F( ) { }\n")
	write("node_modules/x/bad.go", "package a\nfunc  F( ) { }\n")
	write(".hidden/bad.go", "package a\nfunc  F( ) { }\n")
	write("pkg/testdata/bad.go", "package a\nfunc  F( ) { }\n")
	got, err := Unformatted(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"pkg/bad.go"}) {
		t.Errorf("Unformatted = %v, want [pkg/bad.go]", got)
	}
	write("pkg/broken.go", "package a\nfunc {\n")
	if _, err := Unformatted(context.Background(), root); err == nil {
		t.Error("a file that does not parse was not reported")
	}
}

func TestParseFuzzList(t *testing.T) {
	out := "FuzzLoad\nFuzzValidate\nok  \tgithub.com/x/y/internal/validate\t0.031s\n" +
		"?   \tgithub.com/x/y/internal/doc\t[no test files]\n" +
		"ok  \tgithub.com/x/y/internal/none\t0.010s\n" +
		"FuzzParse\nok  \tgithub.com/x/y/internal/tenant\t(cached)\n"
	got := parseFuzzList(out)
	want := []FuzzTarget{
		{"github.com/x/y/internal/validate", "FuzzLoad"},
		{"github.com/x/y/internal/validate", "FuzzValidate"},
		{"github.com/x/y/internal/tenant", "FuzzParse"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseFuzzList = %v, want %v", got, want)
	}
}

func TestParseFuzzTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, true}, {"30s", 30 * time.Second, true}, {"0", -1, true}, {"-1s", -time.Second, true}, {"ten", 0, false},
	} {
		got, err := ParseFuzzTime(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseFuzzTime(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestPackageTestScript(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "package.json")
	if s, err := packageTestScript(p); s != "" || err != nil {
		t.Errorf("missing file: %q %v", s, err)
	}
	_ = os.WriteFile(p, []byte(`{"type":"module"}`), 0o644)
	if s, err := packageTestScript(p); s != "" || err != nil {
		t.Errorf("no scripts: %q %v", s, err)
	}
	_ = os.WriteFile(p, []byte(`{"scripts":{"test":"node --test"}}`), 0o644)
	if s, err := packageTestScript(p); s != "node --test" || err != nil {
		t.Errorf("script: %q %v", s, err)
	}
	_ = os.WriteFile(p, []byte(`{`), 0o644)
	if _, err := packageTestScript(p); err == nil {
		t.Error("broken package.json accepted")
	}
}
