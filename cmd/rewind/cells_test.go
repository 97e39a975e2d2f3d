package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCellWidth: text is measured in a terminal's columns, not in
// characters: two for an ideograph, kana, Hangul or an emoji, none for a
// combining accent or a variation selector, and a family of emoji joined
// by zero-width joiners is one picture of two.
func TestCellWidth(t *testing.T) {
	for s, want := range map[string]int{
		"":                0,
		"mug":             3,
		"é":               1, // one code point
		"e\u0301":         1, // e and a combining acute accent
		"ü→x":             3,
		"東京":              4,
		"ｶﾀｶﾅ":            4, // halfwidth katakana: one column each
		"ＡＢ":              4, // fullwidth Latin
		"한국어":             6,
		"🙂":               2,
		"❤\ufe0f":         1, // a narrow heart and its emoji variation selector
		"👨\u200d👩\u200d👧": 2,
		"a\u200db":        2, // a joiner between ASCII joins nothing
		"注文 🙂 ok":         10,
		"\u200b":          0, // zero-width space (a format character)
		"🇯🇵":              2, // a flag: two regional indicators
	} {
		if got := cellWidth(s); got != want {
			t.Errorf("cellWidth(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestCutCells: a cut never splits a wide character, nor a character
// from its accent or from the emoji joined to it.
func TestCutCells(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"東京都", 3, "東"},
		{"東京都", 4, "東京"},
		{"e\u0301te\u0301", 1, "e\u0301"},
		{"👨\u200d👩\u200d👧x", 2, "👨\u200d👩\u200d👧"},
		{"👨\u200d👩\u200d👧x", 1, ""},
		{"abc", 10, "abc"},
	} {
		if got := c.s[:cutCells(c.s, c.n)]; got != c.want {
			t.Errorf("cutCells(%q, %d) keeps %q, want %q", c.s, c.n, got, c.want)
		}
	}
	if got, want := shorten("東京都庁舎", 6), "東京…"; got != want {
		t.Errorf("shorten = %q, want %q", got, want)
	}
}

// TestWideCharactersAlign: a table whose cells hold Japanese and emoji
// lines its columns up on a terminal (a column was as wide as its
// characters, so each wide one pushed the next column a column right),
// and wrapping keeps every line within the width.
func TestWideCharactersAlign(t *testing.T) {
	var out bytes.Buffer
	tw := newTable(&out)
	row(tw, "FIELD", "VALUE", "NOTE")
	row(tw, "customer", `"山田太郎"`, "x")
	row(tw, "mood", `"🙂🙂"`, "y")
	row(tw, "city", `"Zürich"`, "z")
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	col := -1
	for _, l := range lines {
		i := strings.LastIndexByte(l, ' ') + 1
		at := cellWidth(l[:i])
		if col >= 0 && at != col {
			t.Errorf("the last column starts at column %d in %q, %d in the row above:\n%s", at, l, col, out.String())
		}
		col = at
	}
	for _, width := range []int{3, 7, 12} {
		s := `{"name":"山田太郎","note":"🙂 ありがとうございます"}`
		lines := wrapHard(s, width, "  ")
		joined := ""
		for i, l := range lines {
			if cellWidth(l) > width && cellWidth(strings.TrimPrefix(l, "  ")) > 2 {
				t.Errorf("wrapHard(%d): line %q takes %d columns", width, l, cellWidth(l))
			}
			if i > 0 {
				l = strings.TrimPrefix(l, "  ")
			}
			joined += l
		}
		if joined != s {
			t.Errorf("wrapHard(%d) = %q: not the whole value", width, lines)
		}
	}
}

// terminalText escapes what a terminal would obey and keeps a character
// cut at a chunk's end for the next chunk.
func TestTerminalText(t *testing.T) {
	for _, c := range []struct{ in, want, cut string }{
		{"plain\ttext\n", "plain\ttext\n", ""},
		{"\x1b[2J\a\r\x00", `\u001b[2J\u0007\r\u0000`, ""},
		{"c1 \u009b1m", `c1 \u009b1m`, ""},
		{"bad \x9b\xff", `bad \x9b\xff`, ""},
		{"caf\xc3", "caf", "\xc3"},
		{"\xe2\x82", "", "\xe2\x82"},
		{"\xe2(", `\xe2(`, ""},
		{"é€😀", "é€😀", ""},
	} {
		var buf bytes.Buffer
		cut := terminalText(&buf, []byte(c.in))
		if buf.String() != c.want || string(cut) != c.cut {
			t.Errorf("terminalText(%q) = %q, cut %q; want %q, cut %q", c.in, buf.String(), cut, c.want, c.cut)
		}
	}
}
