package report

import (
	"io"
	"os"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
)

// Tone says how a cell should stand out; the text renderer maps it to a colour.
type Tone int

const (
	// Plain is ordinary text.
	Plain Tone = iota
	// Good marks a success (succeeded, in_sync).
	Good
	// Calm marks a harmless non-success (unchanged, skipped).
	Calm
	// Warn marks something that needs a look but is not an error (drifted, missing).
	Warn
	// Bad marks a failure.
	Bad
)

// Colour reports whether text written to w should carry ANSI colour: only when w is a
// terminal, NO_COLOR is unset or empty (https://no-color.org) and TERM is not "dumb".
func Colour(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// paint returns s coloured for tone when on is true; plain s otherwise. The decision is
// made per call rather than through color.NoColor, which is computed once for stdout only.
func paint(s string, tone Tone, on bool) string {
	if !on || tone == Plain {
		return s
	}
	var c *color.Color
	switch tone {
	case Good:
		c = color.New(color.FgGreen)
	case Calm:
		c = color.New(color.FgHiBlack)
	case Warn:
		c = color.New(color.FgYellow)
	case Bad:
		c = color.New(color.FgRed, color.Bold)
	default:
		return s
	}
	c.EnableColor()
	return c.Sprint(s)
}
