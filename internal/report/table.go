package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Cell is one table value with the tone it is shown in.
type Cell struct {
	Text string
	Tone Tone
}

// Table is a titled grid of cells; every row has one cell per column (missing cells are
// rendered empty, extra cells are dropped).
type Table struct {
	Title   string
	Columns []string
	Rows    [][]Cell
}

// AddRow appends one row.
func (t *Table) AddRow(cells ...Cell) { t.Rows = append(t.Rows, cells) }

// Text writes the table as aligned columns separated by two spaces, one line per row
// (line breaks inside a cell become spaces). colour turns on ANSI colour for cells with a
// Tone; the padding is computed on the plain text so columns stay aligned either way.
func (t Table) Text(w io.Writer, colour bool) error {
	t.Rows = flatRows(t.Rows)
	widths := make([]int, len(t.Columns))
	for i, c := range t.Columns {
		widths[i] = utf8.RuneCountInString(c)
	}
	for _, r := range t.Rows {
		for i := range widths {
			if i < len(r) {
				widths[i] = max(widths[i], utf8.RuneCountInString(r[i].Text))
			}
		}
	}
	var b strings.Builder
	if t.Title != "" {
		b.WriteString(t.Title)
		b.WriteByte('\n')
	}
	line := func(cells []Cell) {
		var sb strings.Builder
		for i := range widths {
			var c Cell
			if i < len(cells) {
				c = cells[i]
			}
			sb.WriteString(paint(c.Text, c.Tone, colour))
			if i < len(widths)-1 {
				sb.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.Text)+2))
			}
		}
		b.WriteString(strings.TrimRight(sb.String(), " "))
		b.WriteByte('\n')
	}
	header := make([]Cell, len(t.Columns))
	for i, c := range t.Columns {
		header[i] = Cell{Text: strings.ToUpper(c)}
	}
	line(header)
	for _, r := range t.Rows {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("report: write table: %w", err)
	}
	return nil
}

// Markdown writes the table as a GitHub-flavoured markdown table under a level-3 heading.
// Pipes and newlines inside cells are escaped so a message cannot break the table.
func (t Table) Markdown(w io.Writer) error {
	var b strings.Builder
	if t.Title != "" {
		fmt.Fprintf(&b, "### %s\n\n", mdEscape(t.Title))
	}
	b.WriteString("|")
	for _, c := range t.Columns {
		b.WriteString(" " + mdEscape(c) + " |")
	}
	b.WriteString("\n|")
	for range t.Columns {
		b.WriteString("---|")
	}
	b.WriteByte('\n')
	for _, r := range t.Rows {
		b.WriteString("|")
		for i := range t.Columns {
			text := ""
			if i < len(r) {
				text = r[i].Text
			}
			b.WriteString(" " + mdEscape(text) + " |")
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("report: write markdown: %w", err)
	}
	return nil
}

var mdReplacer = strings.NewReplacer("|", `\|`, "\r\n", "<br>", "\n", "<br>", "\r", "<br>")

func mdEscape(s string) string { return mdReplacer.Replace(s) }

var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

func flatRows(rows [][]Cell) [][]Cell {
	out := make([][]Cell, len(rows))
	for i, r := range rows {
		out[i] = make([]Cell, len(r))
		for j, c := range r {
			out[i][j] = Cell{Text: lineBreaks.Replace(c.Text), Tone: c.Tone}
		}
	}
	return out
}
