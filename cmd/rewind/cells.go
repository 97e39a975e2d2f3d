package main

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// A terminal does not give every character one column: the ideographs
// and kana of East Asian scripts, Hangul and most emoji take two, and a
// combining accent or a zero-width joiner takes none. Tables, wrapping
// and cutting measure text in columns (cells), so that a column of
// Japanese names or of emoji lines up with the one beside it.

// zwj is the zero-width joiner, which joins emoji into one picture (a
// family, a flag with a sign): what follows it is drawn within the
// character before it.
const zwj = '\u200d'

// runeCells is how many columns r takes: 2 for wide and fullwidth
// characters (Unicode's East Asian Width, which gives emoji "wide"), 0
// for marks that combine with the character before them and for format
// characters (the joiner, variation selectors), 1 for the rest.
func runeCells(r rune) int {
	if r < 0x300 { // ASCII and Latin-1: the common case, answered at once
		return 1
	}
	if unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) || unicode.Is(unicode.Variation_Selector, r) {
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// cellWidth is how many columns s takes on a terminal.
func cellWidth(s string) int {
	n := 0
	for i, after := 0, false; i < len(s); {
		w, size := nextCells(s[i:], after)
		after = s[i:i+size] == string(zwj)
		n += w
		i += size
	}
	return n
}

// nextCells is how many columns the character at the start of s takes,
// and its length in bytes. A character right after a zero-width joiner
// (afterJoiner) is drawn within the one before the joiner and takes none,
// unless it is ASCII.
func nextCells(s string, afterJoiner bool) (cells, size int) {
	if c := s[0]; c < utf8.RuneSelf { // ASCII: one column, at once
		return 1, 1
	}
	r, size := utf8.DecodeRuneInString(s)
	if afterJoiner {
		return 0, size
	}
	return runeCells(r), size
}

// cutCells is the length in bytes of the longest start of s that takes
// at most n columns, never splitting a character from the marks and the
// joined characters drawn with it.
func cutCells(s string, n int) int {
	used := 0
	for i, after := 0, false; i < len(s); {
		w, size := nextCells(s[i:], after)
		if w > 0 && used+w > n {
			return i
		}
		after = s[i:i+size] == string(zwj)
		used += w
		i += size
	}
	return len(s)
}

// padCells pads s with spaces to n columns.
func padCells(s string, n int) string {
	return s + strings.Repeat(" ", max(n-cellWidth(s), 0))
}
