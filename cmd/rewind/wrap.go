package main

import (
	"strings"
	"unicode/utf8"
)

// wrapWords breaks s into lines of at most width columns at its spaces,
// the lines after the first starting with indent. A word longer than the
// room goes on a line of its own, whole.
func wrapWords(s string, width int, indent string) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
			if len(lines) > 0 {
				line = indent + w
			}
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = indent + w
		}
	}
	return append(lines, line)
}
