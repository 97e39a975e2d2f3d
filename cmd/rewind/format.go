package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// timeLayout is how human output shows a time: local, to the millisecond
// (so that a time copied from a table into --at lands after the event it
// was copied from), with the zone.
const timeLayout = "2006-01-02 15:04:05.000 MST"

// localTime shows an RFC 3339 time from the server in loc; "" and null are
// shown as "-".
func (c *cli) localTime(s string) string {
	if s == "" || s == "null" {
		return "-"
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.In(c.loc).Format(timeLayout)
}

// serverTime is an RFC 3339 time in a server's message.
var serverTime = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)

// localTimesIn shows the RFC 3339 times of a server's error message as
// localTime does every other time ("a rebuild of \"orders\" is running
// since 2026-12-07 08:53:05.490 CET", not the server's ...05.490768695Z).
func (c *cli) localTimesIn(err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		ee.msg = serverTime.ReplaceAllStringFunc(ee.msg, c.localTime)
	}
	return err
}

// row writes one row of a table, each cell as cellText shows it.
func row(tw io.Writer, cols ...string) {
	cells := make([]string, len(cols))
	for i, c := range cols {
		cells[i] = cellText(c)
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}

// cellText shows s on one line of a table: a control character in it (a
// field name from a state's JSON key may hold any) is written as its
// escape, as a JSON value shows it (\t, \n, \r, \u001b), since a tab would
// end the cell, a newline the row, and an escape sequence would be obeyed
// by the terminal.
func cellText(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			b.WriteString(controlEscape(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// controlEscape is how a control character is shown, as a JSON value
// shows it: \t, \n, \r, or \u followed by its four hex digits.
func controlEscape(r rune) string {
	switch r {
	case '\t':
		return `\t`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	}
	return fmt.Sprintf(`\u%04x`, r)
}

// terminalText writes b, bytes of a stream, to buf for a terminal: a
// control character other than \n and \t is written as its escape, as
// cellText writes it, and a byte that is not UTF-8 as \xNN (0x9b is a
// control sequence's start to some terminals), since an escape sequence in
// a stream's data (a window title, a cleared screen, an OSC 52 write to
// the clipboard) would be obeyed by the terminal. A character cut at b's
// end is returned, to go before the next chunk's bytes.
func terminalText(buf *bytes.Buffer, b []byte) (cut []byte) {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1 && !utf8.FullRune(b):
			return b
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(buf, `\x%02x`, b[0])
		case r == '\n' || r == '\t':
			buf.WriteRune(r)
		case unicode.IsControl(r):
			buf.WriteString(controlEscape(r))
		default:
			buf.Write(b[:n])
		}
		b = b[n:]
	}
	return nil
}

// printJSON prints the server's answer, indented, for --json.
func (c *cli) printJSON(raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return &exitError{code: exitServer, msg: fmt.Sprintf("the server's answer is not JSON: %v", err)}
	}
	buf.WriteByte('\n')
	_, err := c.stdout.Write(buf.Bytes())
	return err
}

// compactJSON shows a JSON value on one line; a missing value is "-".
func compactJSON(v json.RawMessage) string {
	if len(v) == 0 {
		return "-"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return string(v)
	}
	return buf.String()
}

// shorten cuts s to at most n columns, ending it with "…" when cut.
func shorten(s string, n int) string {
	if cellWidth(s) <= n {
		return s
	}
	return s[:cutCells(s, n-1)] + "…"
}

// field is one leaf of a JSON document: its path (object keys joined by
// ".", array indexes as numbers, as the endpoints' changes name fields) and
// its value.
type field struct {
	path  string
	value string
}

// flatten lists the leaves of a JSON document in document order (the
// order of the state's Go fields, which a decoded map would lose). Empty
// objects and arrays are leaves ({} and []).
func flatten(doc json.RawMessage) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var out []field
	if err := flattenValue(dec, "", &out); err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	return out, nil
}

func flattenValue(dec *json.Decoder, path string, out *[]field) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		*out = append(*out, field{path: path, value: scalar(tok)})
		return nil
	}
	n := 0
	for dec.More() {
		child := strconv.Itoa(n)
		if d == '{' {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			child = k.(string)
		}
		if path != "" {
			child = path + "." + child
		}
		if err := flattenValue(dec, child, out); err != nil {
			return err
		}
		n++
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		return err
	}
	if n == 0 {
		empty := "{}"
		if d == '[' {
			empty = "[]"
		}
		*out = append(*out, field{path: path, value: empty})
	}
	return nil
}

// scalar shows one JSON scalar as JSON.
func scalar(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case string:
		// As the server wrote it: "<b>", not "\u003cb\u003e" (json.Marshal's
		// escaping for HTML), as diff and timeline show the same value.
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		return strings.TrimSuffix(b.String(), "\n")
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(tok)
}

// printJSONValue prints a value of this tool's own, for --json.
func (c *cli) printJSONValue(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", b)
	return err
}
