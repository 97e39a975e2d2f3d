package main

import (
	"io"
	"os"
	"strconv"
	"strings"
)

// columns prints rows one at a time (as they arrive, when following),
// aligned like a table: a column is as wide as its widest cell so far, so
// rows never need to be held back to measure them. The last column is not
// padded, and is cut to the terminal's width when there is one; on a
// terminal too narrow to show it beside the others, it goes under them.
type columns struct {
	widths []int
	max    int      // the terminal's width, 0 when not a terminal
	color  bool     // colour on (useColor)
	styles []string // each column's style, "" for none
}

func newColumns(termWidth int, names ...string) *columns {
	c := &columns{widths: make([]int, len(names)), max: termWidth}
	for i, n := range names {
		c.widen(i, cellWidth(n))
	}
	return c
}

// widen makes column i at least w wide.
func (c *columns) widen(i, w int) {
	if w > c.widths[i] {
		c.widths[i] = w
	}
}

func (c *columns) print(w io.Writer, cells ...string) error {
	return c.printStyled(w, func(i int) string {
		if i < len(c.styles) {
			return c.styles[i]
		}
		return ""
	}, cells...)
}

// printHeader prints the names of the columns, bold.
func (c *columns) printHeader(w io.Writer, names ...string) error {
	return c.printStyled(w, func(int) string { return styleBold }, names...)
}

func (c *columns) printStyled(w io.Writer, style func(i int) string, cells ...string) error {
	for i, cell := range cells[:len(cells)-1] {
		c.widen(i, cellWidth(cell))
	}
	var b strings.Builder
	last := len(cells) - 1
	if lead := c.lead(last); c.max > 0 && c.max-lead < minFitRoom && c.max-fitIndent >= minFitRoom {
		// The last column (an event's data) would get too little room
		// beside the others to show anything: it goes under them,
		// indented, with the terminal's width to itself.
		writeLine(&b, c.max, c.color, c.widths, style, cells[:last])
		b.WriteString(strings.Repeat(" ", fitIndent))
		writeLine(&b, c.max-fitIndent, c.color, []int{0}, func(int) string { return style(last) }, cells[last:])
	} else {
		writeLine(&b, c.max, c.color, c.widths, style, cells)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// lead is how many terminal cells the columns before column n take, each
// with the two spaces after it.
func (c *columns) lead(n int) int {
	w := 0
	for _, cw := range c.widths[:n] {
		w += cw + 2
	}
	return w
}

// terminalWidth is the width of the terminal w is, or 0 when w is not a
// terminal (then nothing is cut: a script gets every byte). The terminal
// is asked first, then $COLUMNS; a terminal of unknown width counts as 100
// columns.
func terminalWidth(w io.Writer) int {
	if !isTerminal(w) {
		return 0
	}
	if f, ok := w.(*os.File); ok {
		if n := ttyWidth(f); n > 20 {
			return n
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 20 {
		return n
	}
	return 100
}
