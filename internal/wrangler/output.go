package wrangler

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"sync"
)

// ansi matches the escape sequences wrangler writes even when its output is not a terminal
// (esbuild formats errors with colour unconditionally): CSI sequences such as colours and
// cursor moves, and OSC sequences such as terminal hyperlinks.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]`)

// StripANSI removes terminal escape sequences from s.
func StripANSI(s string) string { return ansi.ReplaceAllString(s, "") }

// redactedText replaces secret values in anything captured from a run.
const redactedText = "[REDACTED]"

// scrubber removes known secret values (the token, a secret being put) from text.
type scrubber []string

func (sc scrubber) scrub(s string) string {
	for _, v := range sc {
		if v != "" {
			s = strings.ReplaceAll(s, v, redactedText)
		}
	}
	return s
}

// capture collects one output stream of the child line by line: each complete line is
// stripped of ANSI, scrubbed, kept, and copied to the shared display writer. Working on whole
// lines means neither an escape sequence nor a secret can be split across two writes.
type capture struct {
	mu      *sync.Mutex // shared with the other stream so lines don't interleave mid-line
	display io.Writer   // may be nil
	scrub   scrubber
	partial []byte
	lines   strings.Builder
}

func (c *capture) Write(p []byte) (int, error) {
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		c.line(string(c.partial[:i]))
		c.partial = c.partial[i+1:]
	}
	return len(p), nil
}

// flush emits a last line that had no newline.
func (c *capture) flush() {
	if len(c.partial) > 0 {
		c.line(string(c.partial))
		c.partial = nil
	}
}

func (c *capture) line(raw string) {
	l := c.scrub.scrub(StripANSI(strings.TrimSuffix(raw, "\r"))) + "\n"
	c.lines.WriteString(l)
	if c.display == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// A failing display (closed terminal) must not fail the deploy: the text is kept above.
	_, _ = io.WriteString(c.display, l)
}

func (c *capture) String() string { return c.lines.String() }
