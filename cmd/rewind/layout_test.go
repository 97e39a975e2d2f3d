package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestChangeFit: a change that does not fit its room puts the old and the
// new value on lines of their own, never cutting either.
func TestChangeFit(t *testing.T) {
	ch := func(path, from, to string) change {
		return change{Path: path, From: json.RawMessage(from), To: json.RawMessage(to)}
	}
	for _, c := range []struct {
		ch   change
		room int
		want []string
	}{
		{ch("subtotalCents", "10200", "10500"), 28, []string{"subtotalCents: 10200 → 10500"}},
		{ch("subtotalCents", "10200", "10500"), 26, []string{"subtotalCents: 10200 →", "  10500"}},
		{ch("subtotalCents", "10200", "10500"), 16, []string{"subtotalCents:", "  10200 →", "  10500"}},
		{ch("status", "null", `"open"`), 12, []string{"status =", `  "open"`}},
		{ch("tracking", `"US623815167"`, "null"), 21, []string{"tracking removed, was", `  "US623815167"`}},
		{ch("items.a", "null", `{"name":"USB-C dock","quantity":2}`), 24, []string{"items.a =", `  {"name":"USB-C dock",`, `  "quantity":2}`}},
	} {
		got := changeFit(c.ch)(c.room, false)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("changeFit(%s: %s → %s)(%d) = %q, want %q", c.ch.Path, c.ch.From, c.ch.To, c.room, got, c.want)
		}
	}
}

// TestTableCellControlCharacters: a field named with a tab, a newline or
// an escape sequence (a state's JSON key may hold any) stays in its own
// cell of its own row, written as its escape: neither a column nor a row
// more (a tab in a key made state's table panic), nor a sequence the
// terminal obeys.
func TestTableCellControlCharacters(t *testing.T) {
	var out bytes.Buffer
	tw := newTable(&out)
	row(tw, "FIELD", "VALUE")
	row(tw, "items.nl\ttab.name", `"mug"`)
	row(tw, "items.two\nlines", "1")
	row(tw, "items.\x1b[2Jclear", "2")
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "FIELD                 VALUE\n" +
		"items.nl\\ttab.name    \"mug\"\n" +
		"items.two\\nlines      1\n" +
		"items.\\u001b[2Jclear  2\n"
	if out.String() != want {
		t.Errorf("the table is\n%s\nwant\n%s", out.String(), want)
	}
	got := changeFit(change{Path: "items.nl\ttab", From: json.RawMessage("null"), To: json.RawMessage(`{"quantity":1}`)})(40, false)
	if want := []string{`items.nl\ttab = {"quantity":1}`}; !reflect.DeepEqual(got, want) {
		t.Errorf("changeFit of a path with a tab = %q, want %q", got, want)
	}
}

// TestWrapHard: lines within the width, and nothing dropped.
func TestWrapHard(t *testing.T) {
	for _, s := range []string{`{"name":"USB-C dock","quantity":2,"unitPriceCents":14900}`, strings.Repeat("0", 70), "é" + strings.Repeat("ü", 40)} {
		for _, width := range []int{5, 12, 27, 80} {
			lines := wrapHard(s, width, "  ")
			joined := ""
			for i, l := range lines {
				if utf8.RuneCountInString(l) > width {
					t.Errorf("wrapHard(%q, %d): line %q is too long", s, width, l)
				}
				if i > 0 {
					l = strings.TrimPrefix(l, "  ")
				}
				joined += l
			}
			if joined != s {
				t.Errorf("wrapHard(%q, %d) = %q: not the whole value", s, width, lines)
			}
		}
	}
}

func TestBreakCommand(t *testing.T) {
	words := []string{"rewind read orders/ord-0001/events", "--server http://localhost:4437", "--from 00000000000000000102_999999"}
	for width, want := range map[int][]string{
		200: {strings.Join(words, " ")},
		80:  {words[0] + " " + words[1] + " \\", "  " + words[2]},
		40:  {words[0] + " \\", "  " + words[1] + " \\", "  " + words[2]},
	} {
		if got := breakCommand(words, width); !reflect.DeepEqual(got, want) {
			t.Errorf("breakCommand(%d) = %q, want %q", width, got, want)
		}
	}
}

// TestHelpFitsEightyColumns: every line of every command's --help (and
// of rewind --help) is at most 80 columns, so that it reads on a terminal
// as written; and a default taken from the environment shows no secret.
func TestHelpFitsEightyColumns(t *testing.T) {
	t.Setenv("REWIND_NATS", "nats://alice:PWsecret@n1:4222,nats://alice:PWsecret@n2:4222")
	helps := [][]string{{"--help"}, {"help"}}
	for _, cmd := range append([]string{"serve", "token"}, commandNames...) {
		if cmd != "help" {
			helps = append(helps, []string{cmd, "--help"}, []string{"help", cmd})
		}
	}
	for _, args := range helps {
		code, out, errOut := runCLI(t, t.Context(), args...)
		help := out + errOut
		if code != 0 || len(help) < 200 {
			t.Errorf("rewind %s: exit %d, %d bytes of help", strings.Join(args, " "), code, len(help))
		}
		if strings.Contains(help, "PWsecret") {
			t.Errorf("rewind %s prints REWIND_NATS's password", strings.Join(args, " "))
		}
		for _, l := range strings.Split(help, "\n") {
			l = strings.ReplaceAll(l, "\t", "        ")
			if n := utf8.RuneCountInString(l); n > 80 {
				t.Errorf("rewind %s: a line of %d columns:\n%s", strings.Join(args, " "), n, l)
			}
		}
	}
}

// TestStateLongFieldPath: on a terminal, a field whose path leaves its
// value less than minFitRoom has the value on the line under it, and the
// other fields keep their value beside them; no value is dropped.
func TestStateLongFieldPath(t *testing.T) {
	var out bytes.Buffer
	tw := newTable(&out)
	tw.width = 80
	long := "items." + strings.Repeat("x", 71)
	row(tw, "FIELD", "VALUE")
	for _, f := range [][2]string{{"status", `"open"`}, {long, `"a value"`}, {"total", strings.Repeat("9", 100)}} {
		tw.rowFit(cutFit(f[1]), f[0], f[1])
	}
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "FIELD   VALUE\n" +
		"status  \"open\"\n" +
		long + "\n" +
		"    \"a value\"\n" +
		"total   " + strings.Repeat("9", 71) + "…\n"
	if out.String() != want {
		t.Errorf("the table is\n%s\nwant\n%s", out.String(), want)
	}
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("a line of %d columns: %q", n, l)
		}
	}
}

// TestWideRowsGoOn: the rows that go on a row whose value went under it
// (their other cells empty) have theirs under it too, indented alike,
// not in the narrow column of the other rows.
func TestWideRowsGoOn(t *testing.T) {
	var out bytes.Buffer
	tw := newTable(&out)
	tw.width = 60
	long := strings.Repeat("T", 50)
	row(tw, "V", "TYPE", "CHANGED")
	tw.rowFit(cutFit("a = 1"), "1", "Short", "a = 1")
	tw.rowFit(cutFit("b = 2"), "2", long, "b = 2")
	tw.rowFit(cutFit("c = 3"), "", "", "c = 3")
	tw.rowFit(cutFit("d = 4"), "3", "Short", "d = 4")
	tw.rowFit(cutFit("e = 5"), "", "", "e = 5")
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "V  TYPE   CHANGED\n" +
		"1  Short  a = 1\n" +
		"2  " + long + "\n" +
		"    b = 2\n" +
		"    c = 3\n" +
		"3  Short  d = 4\n" +
		"          e = 5\n"
	if out.String() != want {
		t.Errorf("the table is\n%s\nwant\n%s", out.String(), want)
	}
}

// TestNarrowReadShowsData: on a terminal too narrow for an event's data
// beside its time, version and type, the data goes under them, rather than
// being cut to nothing.
func TestNarrowReadShowsData(t *testing.T) {
	var out strings.Builder
	cols := newColumns(60, "STORED AT", "VERSION", "TYPE", "DATA")
	cols.widen(0, len(timeLayout)+1)
	cols.widen(2, 16)
	data := `{"customer":"ann","items":["mug","backpack"]}`
	if err := cols.print(&out, "2026-12-07 08:13:34.123", "12", "OrderPlaced", data); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], strings.Repeat(" ", fitIndent)+`{"customer":"ann"`) {
		t.Fatalf("at 60 columns:\n%s\nwant the data on a line of its own under the other cells", out.String())
	}
	for _, l := range lines {
		if w := cellWidth(l); w > 60 {
			t.Errorf("a line of %d cells at 60 columns: %q", w, l)
		}
	}
	out.Reset()
	wide := newColumns(120, "STORED AT", "VERSION", "TYPE", "DATA")
	if err := wide.print(&out, "2026-12-07 08:13:34.123", "12", "OrderPlaced", data); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "\n") != 1 {
		t.Errorf("at 120 columns the row is not one line:\n%s", out.String())
	}
}
