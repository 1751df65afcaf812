package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func sample() Table {
	return Table{
		Title:   "deploy:all staging",
		Columns: []string{"tenant", "status", "url"},
		Rows: [][]Cell{
			{{Text: "mrrainbowsmoke"}, {Text: "succeeded", Tone: Good}, {Text: "https://a.example"}},
			{{Text: "b"}, {Text: "failed", Tone: Bad}, {Text: "x | y\nz"}},
		},
	}
}

func TestTextAlignsColumnsWithoutColour(t *testing.T) {
	var b bytes.Buffer
	if err := sample().Text(&b, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 4 || lines[0] != "deploy:all staging" {
		t.Fatalf("unexpected lines: %q", lines)
	}
	col := strings.Index(lines[1], "STATUS")
	for _, l := range lines[2:] {
		if idx := strings.IndexAny(l[col:col+1], "sf"); idx != 0 {
			t.Errorf("status column not aligned at %d in %q", col, l)
		}
	}
	if strings.Contains(b.String(), "\x1b[") {
		t.Error("colour escape written although colour is off")
	}
}

func TestTextColourKeepsAlignment(t *testing.T) {
	var plain, coloured bytes.Buffer
	_ = sample().Text(&plain, false)
	_ = sample().Text(&coloured, true)
	if !strings.Contains(coloured.String(), "\x1b[") {
		t.Fatal("no colour escape written although colour is on")
	}
	if StripANSI(coloured.String()) != plain.String() {
		t.Errorf("coloured output differs from plain once escapes are removed:\n%q\n%q", StripANSI(coloured.String()), plain.String())
	}
}

func TestMarkdownEscapesCells(t *testing.T) {
	var b bytes.Buffer
	if err := sample().Markdown(&b); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{"### deploy:all staging", "| tenant | status | url |", "|---|---|---|", `x \| y<br>z`} {
		if !strings.Contains(got, want) {
			t.Errorf("markdown lacks %q:\n%s", want, got)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(got), "\n")[2:] {
		if n := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|"); n != 4 {
			t.Errorf("row %q has %d separators, want 4", l, n)
		}
	}
}

func TestAppendStepSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv(StepSummaryEnv, path)
	if err := AppendStepSummary("one\n"); err != nil {
		t.Fatal(err)
	}
	if err := AppendStepSummary("two\n"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "one\ntwo\n" {
		t.Errorf("summary file = %q", b)
	}
}

func TestAppendStepSummaryUnsetDoesNothing(t *testing.T) {
	t.Setenv(StepSummaryEnv, "")
	if err := AppendStepSummary("x"); err != nil {
		t.Fatal(err)
	}
}

func TestColourOffForFilesAndNoColor(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if Colour(f) {
		t.Error("colour on for a regular file")
	}
	if Colour(&bytes.Buffer{}) {
		t.Error("colour on for a buffer")
	}
	t.Setenv("NO_COLOR", "1")
	if Colour(os.Stderr) {
		t.Error("colour on although NO_COLOR is set")
	}
}

func TestJSONIsOneDocument(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, map[string]any{"a": []int{1, 2}}); err != nil {
		t.Fatal(err)
	}
	var v map[string][]int
	if err := json.Unmarshal(b.Bytes(), &v); err != nil || len(v["a"]) != 2 {
		t.Fatalf("not valid JSON (%v): %q", err, b.String())
	}
}

func TestProgressLinesDoNotInterleave(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, []string{"a", "longer-name"})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "a"
			if i%2 == 0 {
				name = "longer-name"
			}
			p.Line(name, "deploying", Plain, "step")
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("got %d lines, want 50", len(lines))
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, "deploying  step") || strings.Count(l, "deploying") != 1 {
			t.Errorf("malformed line %q", l)
		}
		if !strings.Contains(l, "] a            deploying") && !strings.Contains(l, "] longer-name  deploying") {
			t.Errorf("prefix not aligned: %q", l)
		}
	}
}

func TestStripANSI(t *testing.T) {
	if got := StripANSI("\x1b[31m✘ \x1b[41;31m[\x1b[41;97mERROR\x1b[41;31m]\x1b[0m x"); got != "✘ [ERROR] x" {
		t.Errorf("StripANSI = %q", got)
	}
}
