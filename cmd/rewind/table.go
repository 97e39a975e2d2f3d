package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// The one width policy of the human output (read's columns, and the
// tables of streams, state, diff, timeline and projections): on a terminal
// a line is cut to the terminal's width, its last column shortened with
// "…"; anywhere else nothing is cut, so a script or a file gets every
// byte. Colour follows the same rule: on a terminal only, never when
// NO_COLOR is set (https://no-color.org) or TERM is "dumb" or unset.

// ANSI styles of the human output.
const (
	styleBold  = "\x1b[1m"
	styleType  = "\x1b[36m" // an event's type: cyan
	styleFrom  = "\x1b[31m" // a value before a change: red
	styleTo    = "\x1b[32m" // a value after a change: green
	styleReset = "\x1b[0m"
)

// useColor reports whether output to w is coloured.
func useColor(w io.Writer) bool {
	if !isTerminal(w) {
		return false
	}
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	term := os.Getenv("TERM")
	return term != "" && term != "dumb"
}

// paint wraps s in style when colour is on.
func paint(on bool, style, s string) string {
	if !on || style == "" || s == "" {
		return s
	}
	return style + s + styleReset
}

// table is an aligned table: rows are written as tab-separated lines
// (row), held until Flush, then printed with columns two spaces apart,
// the first row (the header) bold, columns styled as set, and each line
// fitted to the terminal's width.
type table struct {
	w      io.Writer
	width  int  // the terminal's width, 0 when not a terminal
	color  bool // colour on
	buf    bytes.Buffer
	styles map[int]string
}

func newTable(w io.Writer) *table {
	return &table{w: w, width: terminalWidth(w), color: useColor(w), styles: map[int]string{}}
}

// style sets the style of column i's cells (not the header's).
func (t *table) style(i int, s string) *table {
	t.styles[i] = s
	return t
}

func (t *table) Write(p []byte) (int, error) { return t.buf.Write(p) }

// Flush prints the rows written so far.
func (t *table) Flush() error {
	text := strings.TrimSuffix(t.buf.String(), "\n")
	t.buf.Reset()
	if text == "" {
		return nil
	}
	var rows [][]string
	var widths []int
	for _, line := range strings.Split(text, "\n") {
		cells := strings.Split(line, "\t")
		for i, c := range cells[:len(cells)-1] {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
		rows = append(rows, cells)
	}
	var b strings.Builder
	for r, cells := range rows {
		style := func(i int) string { return t.styles[i] }
		if r == 0 {
			style = func(int) string { return styleBold }
		}
		writeLine(&b, t.width, t.color, widths, style, cells)
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}

// writeLine writes one line of cells, each but the last padded to its
// column's width and two spaces, styled, and cut to width when it is not
// 0: the cell where the room ends is shortened with "…" and the line ends
// there.
func writeLine(out *strings.Builder, width int, color bool, widths []int, style func(i int) string, cells []string) {
	var b strings.Builder
	used := 0
	for i, c := range cells {
		last := i == len(cells)-1
		n := utf8.RuneCountInString(c)
		if width > 0 {
			room := width - used
			if room < 1 {
				break
			}
			if n > room || !last && widths[i]+2 > room {
				b.WriteString(paint(color, style(i), shorten(c, room)))
				break
			}
		}
		b.WriteString(paint(color, style(i), c))
		if last {
			break
		}
		b.WriteString(strings.Repeat(" ", widths[i]-n+2))
		used += widths[i] + 2
	}
	// A line cut before its last cell ends without padding.
	out.WriteString(strings.TrimRight(b.String(), " "))
	out.WriteByte('\n')
}
