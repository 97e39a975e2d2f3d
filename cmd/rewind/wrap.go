package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rewindhq/rewind/eventstore"
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
		case cellWidth(line)+1+cellWidth(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = indent + w
		}
	}
	return append(lines, line)
}

// helpWidth is the width help is written for: no line of --help is
// wider, so that it reads on a terminal of the usual 80 columns.
const helpWidth = 80

// wrapParagraph wraps s at its spaces into lines of at most width
// columns, keeping a "quoted phrase" on one line.
func wrapParagraph(s string, width int) string {
	var words []string
	quoted := false
	for _, w := range strings.Fields(s) {
		if quoted {
			words[len(words)-1] += "\x00" + w
		} else {
			words = append(words, w)
		}
		if strings.Count(w, `"`)%2 == 1 {
			quoted = !quoted
		}
	}
	lines := wrapWords(strings.Join(words, " "), width, "")
	return strings.ReplaceAll(strings.Join(lines, "\n"), "\x00", " ")
}

// printFlags prints the flags of fs as the flag package does, but with
// two dashes, as this tool's help writes them, and each description
// wrapped to helpWidth under its flag.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	const indent = "      "
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		head := "  --" + f.Name
		if typ != "" {
			head += " " + typ
		}
		if def := f.DefValue; def != "" && def != "0" && def != "false" && def != "0s" {
			if strings.Contains(def, "@") {
				// A default from the environment (REWIND_NATS):
				// its URLs' user info stays out of the help.
				def = eventstore.RedactURL(def)
			}
			if typ == "string" {
				def = strconv.Quote(def)
			}
			usage += " (default " + def + ")"
		}
		fmt.Fprintln(w, head)
		for _, l := range wrapWords(usage, helpWidth-len(indent), "") {
			fmt.Fprintln(w, indent+l)
		}
	})
}
