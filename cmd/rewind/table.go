package main

import (
	"bytes"
	"io"
	"os"
	"slices"
	"strings"
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
// fitted to the terminal's width. What must not be cut (an offset that
// --from takes, a value a change sets) is kept whole: its columns are
// marked keep, or its row gives its last cell as lines (rowFit).
type table struct {
	w      io.Writer
	width  int  // the terminal's width, 0 when not a terminal
	color  bool // colour on
	buf    bytes.Buffer
	styles map[int]string
	keeps  map[int]bool // columns whose cells are never cut
	drops  []int        // columns left out, in this order, while a line does not fit
	fits   map[int]fitFunc
}

// fitFunc gives the last cell of a row as lines of at most room columns,
// painted when color is on.
type fitFunc func(room int, color bool) []string

// minFitRoom is the least room a fitted cell is given beside the other
// cells of its row: with less, its lines go under the row, indented by
// fitIndent.
const (
	minFitRoom = 20
	fitIndent  = 4
)

func newTable(w io.Writer) *table {
	return &table{w: w, width: terminalWidth(w), color: useColor(w), styles: map[int]string{},
		keeps: map[int]bool{}, fits: map[int]fitFunc{}}
}

// style sets the style of column i's cells (not the header's).
func (t *table) style(i int, s string) *table {
	t.styles[i] = s
	return t
}

// keep marks column i as never cut: a cell that does not fit goes on a
// line of its own rather than being shortened.
func (t *table) keep(i int) *table {
	t.keeps[i] = true
	return t
}

// drop marks column i as left out (from every row) when a line would not
// fit otherwise; columns marked first go first.
func (t *table) drop(i int) *table {
	t.drops = append(t.drops, i)
	return t
}

// rowFit writes a row whose last cell, on a terminal, is printed as fit
// gives it for the room the other cells leave (in a pipe, as cells has it).
func (t *table) rowFit(fit fitFunc, cells ...string) {
	t.fits[bytes.Count(t.buf.Bytes(), []byte("\n"))] = fit
	row(t, cells...)
}

func (t *table) Write(p []byte) (int, error) { return t.buf.Write(p) }

// Flush prints the rows written so far.
func (t *table) Flush() error {
	text := strings.TrimSuffix(t.buf.String(), "\n")
	t.buf.Reset()
	fits := t.fits
	t.fits = map[int]fitFunc{}
	if text == "" {
		return nil
	}
	var rows [][]string
	for _, line := range strings.Split(text, "\n") {
		rows = append(rows, strings.Split(line, "\t"))
	}
	cols := t.columnsShown(rows) // the original index of each column shown
	if len(cols) < len(rows[0]) {
		for r, cells := range rows {
			rows[r] = pick(cells, cols)
		}
	}
	// A fitted row whose other cells alone leave its last less than
	// minFitRoom (a field's path as long as the terminal is wide) goes
	// under them, and does not widen the columns of every other row.
	// So do the rows that go on it (their other cells empty: a change
	// after an event's first).
	wide := map[int]bool{}
	if t.width > 0 {
		for r, cells := range rows {
			if fits[r] == nil {
				continue
			}
			onAbove := strings.Join(cells[:len(cells)-1], "") == ""
			wide[r] = lead(cells) > t.width-minFitRoom || onAbove && wide[r-1]
		}
	}
	narrow := make([][]string, 0, len(rows))
	for r, cells := range rows {
		if !wide[r] {
			narrow = append(narrow, cells)
		}
	}
	widths := cellWidths(narrow)
	var b strings.Builder
	for r, cells := range rows {
		style := func(i int) string { return t.styles[cols[i]] }
		if r == 0 {
			style = func(int) string { return styleBold }
		}
		keep := func(i int) bool { return t.keeps[cols[i]] }
		if fit := fits[r]; fit != nil && t.width > 0 {
			if wide[r] {
				t.writeUnder(&b, cellWidths([][]string{cells}), style, cells, fit)
				continue
			}
			t.writeFitted(&b, widths, style, cells, fit)
			continue
		}
		writeLineKeep(&b, t.width, t.color, widths, style, keep, cells)
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}

// columnsShown returns the indexes of the columns to print: all of them,
// less the ones to drop while a row is wider than the terminal.
func (t *table) columnsShown(rows [][]string) []int {
	cols := make([]int, 0, len(rows[0]))
	for i := range rows[0] {
		cols = append(cols, i)
	}
	if t.width == 0 {
		return cols
	}
	for _, d := range t.drops {
		shown := make([][]string, len(rows))
		for r, cells := range rows {
			shown[r] = pick(cells, cols)
		}
		if !overflows(shown, cellWidths(shown), t.width) {
			break
		}
		cols = slices.DeleteFunc(cols, func(c int) bool { return c == d })
	}
	return cols
}

// pick returns the cells at the indexes cols (those a row has).
func pick(cells []string, cols []int) []string {
	out := make([]string, 0, len(cols))
	for _, c := range cols {
		if c < len(cells) {
			out = append(out, cells[c])
		}
	}
	return out
}

// cellWidths is the width of each column but a row's last cell, which is
// not padded.
func cellWidths(rows [][]string) []int {
	var widths []int
	for _, cells := range rows {
		for i, c := range cells[:len(cells)-1] {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], cellWidth(c))
		}
	}
	return widths
}

// overflows reports whether a row is wider than width.
func overflows(rows [][]string, widths []int, width int) bool {
	for _, cells := range rows {
		need := cellWidth(cells[len(cells)-1])
		for i := range cells[:len(cells)-1] {
			need += widths[i] + 2
		}
		if need > width {
			return true
		}
	}
	return false
}

// writeFitted writes a row whose last cell fit gives as lines: the first
// beside the other cells, the rest under it; or, when the other cells
// leave less than minFitRoom, the other cells and then every line under
// them, indented.
func (t *table) writeFitted(out *strings.Builder, widths []int, style func(i int) string, cells []string, fit fitFunc) {
	last := len(cells) - 1
	start := 0
	for i := range cells[:last] {
		start += widths[i] + 2
	}
	if t.width-start < minFitRoom {
		t.writeUnder(out, widths, style, cells, fit)
		return
	}
	for k, l := range fit(t.width-start, t.color) {
		if k == 0 {
			for i, c := range cells[:last] {
				out.WriteString(paint(t.color, style(i), c) + strings.Repeat(" ", widths[i]-cellWidth(c)+2))
			}
		} else {
			out.WriteString(strings.Repeat(" ", start))
		}
		out.WriteString(l + "\n")
	}
}

// writeUnder writes a fitted row's other cells on a line (cut to the
// width), then its last cell's lines under them, indented by fitIndent.
func (t *table) writeUnder(out *strings.Builder, widths []int, style func(i int) string, cells []string, fit fitFunc) {
	last := len(cells) - 1
	if strings.Join(cells[:last], "") != "" { // not a row that goes on the one above
		writeLine(out, t.width, t.color, widths, style, cells[:last])
	}
	for _, l := range fit(max(t.width-fitIndent, 1), t.color) {
		out.WriteString(strings.Repeat(" ", fitIndent) + l + "\n")
	}
}

// lead is how many columns a row's cells before its last take, each with
// the two spaces after it, unpadded.
func lead(cells []string) int {
	n := 0
	for _, c := range cells[:len(cells)-1] {
		n += cellWidth(c) + 2
	}
	return n
}

// writeLine writes one line of cells, each but the last padded to its
// column's width and two spaces, styled, and cut to width when it is not
// 0: the cell where the room ends is shortened with "…" and the line ends
// there.
func writeLine(out *strings.Builder, width int, color bool, widths []int, style func(i int) string, cells []string) {
	writeLineKeep(out, width, color, widths, style, func(int) bool { return false }, cells)
}

// writeLineKeep is writeLine, but a cell of a column kept (keep) that
// does not fit is not cut: it goes on a line of its own, indented by two
// spaces when there is room, with the cells after it.
func writeLineKeep(out *strings.Builder, width int, color bool, widths []int, style func(i int) string, keep func(i int) bool, cells []string) {
	var b strings.Builder
	used := 0
	moved := false // a kept cell went on a line of its own: no columns after it
	for i, c := range cells {
		last := i == len(cells)-1
		n := cellWidth(c)
		if width > 0 {
			room := width - used
			if (n > room || !last && widths[i]+2 > room) && keep(i) && used > 0 {
				moved = true
				// A new line for it, and for what follows it.
				out.WriteString(strings.TrimRight(b.String(), " ") + "\n")
				b.Reset()
				used = 0
				if n+2 <= width {
					b.WriteString("  ")
					used = 2
				}
				b.WriteString(paint(color, style(i), c))
				used += n
				if !last {
					b.WriteString("  ")
					used += 2
				}
				continue
			}
			if room < 1 {
				break
			}
			if !keep(i) && (n > room || !last && widths[i]+2 > room) {
				b.WriteString(paint(color, style(i), shorten(c, room)))
				break
			}
		}
		b.WriteString(paint(color, style(i), c))
		if last {
			break
		}
		pad := widths[i] - n + 2
		if moved {
			pad = 2
		}
		b.WriteString(strings.Repeat(" ", pad))
		used += n + pad
	}
	// A line cut before its last cell ends without padding.
	out.WriteString(strings.TrimRight(b.String(), " "))
	out.WriteByte('\n')
}

// wrapHard breaks s into lines of at most width columns, never dropping a
// character: a value too long for its room goes on over several lines,
// each after the first starting with indent, broken after a comma or a
// colon when one comes late enough in the line (JSON's own places), and
// anywhere otherwise (not at a space, which a reader would not see at the
// end of a line).
func wrapHard(s string, width int, indent string) []string {
	var lines []string
	for first := true; ; first = false {
		room := width
		prefix := ""
		if !first {
			prefix = indent
			room = max(width-cellWidth(indent), 1)
		}
		if cellWidth(s) <= room {
			return append(lines, prefix+s)
		}
		cut := cutCells(s, room)
		if cut == 0 { // a wide character in a room of one column: it goes on whole
			cut = cutCells(s, 2)
		}
		if i := strings.LastIndexAny(s[:cut], ",:"); i >= 0 && cellWidth(s[:i+1]) > room/3 {
			cut = i + 1
		}
		lines = append(lines, prefix+s[:cut])
		s = s[cut:]
	}
}
