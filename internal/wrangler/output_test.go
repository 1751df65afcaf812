package wrangler

import (
	"strings"
	"sync"
	"testing"
)

func TestStripANSI(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"\x1b[31m✘ \x1b[41;31m[\x1b[41;97mERROR\x1b[41;31m]\x1b[0m \x1b[1mboom\x1b[0m", "✘ [ERROR] boom"},
		{"\x1b[33m▲ \x1b[43;33m[\x1b[43;30mWARNING\x1b[43;33m]\x1b[0m x", "▲ [WARNING] x"},
		{"\x1b[2K\x1b[1Gline", "line"},
		{"\x1b]8;;https://example.com\x07link\x1b]8;;\x07", "link"},
		{"\x1b[?25lhidden cursor\x1b[?25h", "hidden cursor"},
		{"", ""},
	} {
		if got := StripANSI(tc.in); got != tc.want {
			t.Errorf("StripANSI(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Escape sequences and secrets split across writes are still removed, because capture works
// on whole lines.
func TestCaptureSplitWrites(t *testing.T) {
	var shown strings.Builder
	c := &capture{mu: &sync.Mutex{}, display: &shown, scrub: scrubber{"s3cret-token"}}
	for _, chunk := range []string{"\x1b[3", "1mred\x1b[0m token=s3cr", "et-token\r\nsecond ", "line\nno newline s3cret-", "token"} {
		if _, err := c.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	c.flush()
	want := "red token=[REDACTED]\nsecond line\nno newline [REDACTED]\n"
	if c.String() != want || shown.String() != want {
		t.Errorf("captured %q, shown %q, want %q", c.String(), shown.String(), want)
	}
}

func TestTail(t *testing.T) {
	if got := tail("a\n\nb\nc\n\n", 2); got != "b\nc" {
		t.Errorf("tail = %q", got)
	}
}
