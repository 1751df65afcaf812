package runbook

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
)

// Marker is the line that marks the next fenced block as tested.
const Marker = "<!-- runbook-test -->"

// Block is one fenced shell block of a runbook.
type Block struct {
	// Line is the 1-based line of the opening fence, for messages.
	Line int
	// Tested says whether the block was marked for testing.
	Tested bool
	Script string
}

var shells = map[string]bool{"sh": true, "bash": true, "shell": true}

// Parse returns the shell blocks of a markdown document in order. A fence left open, or a
// marker not followed by a shell block, is an error naming the line: a typo must not
// silently drop a block from the test.
func Parse(name string, md []byte) ([]Block, error) {
	var blocks []Block
	sc := bufio.NewScanner(bytes.NewReader(md))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	n, marked, markLine := 0, false, 0
	var cur *Block
	var fence string
	keep := false // the open block is a shell block
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur != nil {
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, "`~") == "" {
				if keep {
					blocks = append(blocks, *cur)
				}
				cur = nil
				continue
			}
			cur.Script += line + "\n"
			continue
		}
		if trimmed == Marker {
			marked, markLine = true, n
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			info := strings.Fields(strings.TrimLeft(trimmed, "`~"))
			lang := ""
			if len(info) > 0 {
				lang = info[0]
			}
			if marked && !shells[lang] {
				return nil, fmt.Errorf("%s:%d: %s must be followed by a ```sh block, found %q", name, markLine, Marker, trimmed)
			}
			keep = shells[lang] // other blocks (markdown, json) are skipped whole
			cur = &Block{Line: n, Tested: marked && keep}
			marked = false
			continue
		}
		if marked && trimmed != "" {
			return nil, fmt.Errorf("%s:%d: %s must be directly followed by a ```sh block", name, markLine, Marker)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: code block is never closed", name, cur.Line)
	}
	if marked {
		return nil, fmt.Errorf("%s:%d: %s at the end of the file marks nothing", name, markLine, Marker)
	}
	return blocks, nil
}

// Tested returns the script of every tested block of the runbook file, in order, each
// preceded by a comment naming its place, as one script.
func Tested(path string) (string, int, error) {
	md, err := os.ReadFile(path)
	if err != nil {
		return "", 0, err
	}
	blocks, err := Parse(path, md)
	if err != nil {
		return "", 0, err
	}
	var b strings.Builder
	count := 0
	for _, bl := range blocks {
		if !bl.Tested {
			continue
		}
		count++
		fmt.Fprintf(&b, "echo '+++ %s:%d' >&2\n%s", path, bl.Line, bl.Script)
	}
	return b.String(), count, nil
}
