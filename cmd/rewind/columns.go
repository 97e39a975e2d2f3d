package main

import (
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// columns prints rows one at a time (as they arrive, when following),
// aligned like a table: a column is as wide as its widest cell so far, so
// rows never need to be held back to measure them. The last column is not
// padded, and is cut to the terminal's width when there is one.
type columns struct {
	widths []int
	max    int // the terminal's width, 0 when not a terminal
}

func newColumns(termWidth int, names ...string) *columns {
	c := &columns{widths: make([]int, len(names)), max: termWidth}
	for i, n := range names {
		c.widen(i, utf8.RuneCountInString(n))
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
	var b strings.Builder
	for i, cell := range cells {
		if i == len(cells)-1 {
			if c.max > 0 {
				room := c.max - utf8.RuneCountInString(b.String())
				cell = shorten(cell, max(room, 10))
			}
			b.WriteString(cell)
			break
		}
		c.widen(i, utf8.RuneCountInString(cell))
		b.WriteString(cell)
		b.WriteString(strings.Repeat(" ", c.widths[i]-utf8.RuneCountInString(cell)+2))
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
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
