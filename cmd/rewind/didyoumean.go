package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// commandNames are the commands of main's switch, for "did you mean".
var commandNames = []string{"serve", "streams", "read", "state", "diff", "timeline", "projections", "rebuild", "export", "help"}

// closest returns the candidate nearest to s when it is near enough to be
// a typo (a prefix of it, or at most two edits away for names of five
// letters or more, one for shorter ones), or "".
func closest(s string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if len(s) >= 2 && strings.HasPrefix(c, s) {
			return c
		}
		limit := 2
		if len(c) < 5 {
			limit = 1
		}
		if d := editDistance(s, c); d <= limit && d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the number of edits (insert, delete, replace, swap of
// two neighbours) from a to b, in bytes: names here are ASCII.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// unknownCommand is the message for a command rewind does not have.
func unknownCommand(name string) string {
	if c := closest(name, commandNames); c != "" {
		return fmt.Sprintf("rewind: unknown command %q; did you mean %q?\n", name, c)
	}
	return fmt.Sprintf("rewind: unknown command %q\nRun \"rewind --help\" for the commands.\n", name)
}

// flagProblem explains a flag parse error of the command called name
// ("rewind state") in one line (two for an unknown flag that is no typo
// of one: the second says where the flags are listed), with the flag meant
// when one was mistyped.
func flagProblem(name string, fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if bad, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		bad = strings.TrimLeft(bad, "-")
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if c := closest(bad, names); c != "" {
			return fmt.Sprintf("%s: unknown flag --%s; did you mean --%s?\n", name, bad, c)
		}
		return fmt.Sprintf("%s: unknown flag --%s\nRun \"%s --help\" for its flags.\n", name, bad, name)
	}
	if flagName, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return fmt.Sprintf("%s: --%s needs a value (%s --help lists the flags)\n", name, flagName, name)
	}
	if flagName, value, reason, ok := invalidValue(msg); ok {
		if reason == "parse error" { // the flag package's, for numbers and booleans
			reason = "not a valid value (see " + name + " --help)"
			if f := fs.Lookup(flagName); f != nil {
				switch typ, _ := flag.UnquoteUsage(f); typ {
				case "int":
					reason = "not a whole number"
				case "duration":
					reason = "not a duration (like 30s or 2m)"
				case "":
					reason = "not true or false"
				}
			}
		}
		return fmt.Sprintf("%s: --%s %s: %s\n", name, flagName, value, reason)
	}
	return fmt.Sprintf("%s: %s\nRun \"%s --help\" for its flags.\n", name, msg, name)
}

// invalidValue takes apart the flag package's error for a value a flag
// refused: `invalid value "x" for flag -name: reason`, or for a boolean
// `invalid boolean value "x" for -name: reason`.
func invalidValue(msg string) (flagName, value, reason string, ok bool) {
	rest, ok := strings.CutPrefix(msg, "invalid value ")
	sep := " for flag -"
	if !ok {
		rest, ok = strings.CutPrefix(msg, "invalid boolean value ")
		sep = " for -"
	}
	if !ok {
		return "", "", "", false
	}
	value, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return "", "", "", false
	}
	rest, ok = strings.CutPrefix(rest[len(value):], sep)
	if !ok {
		return "", "", "", false
	}
	flagName, reason, ok = strings.Cut(rest, ": ")
	return flagName, value, reason, ok
}

// unknownFlag is the message for a flag before the command that is none
// of the shared client flags (--server, --token, --json).
func unknownFlag(arg string) string {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	if name == "" {
		return fmt.Sprintf("rewind: unexpected %q before the command\nRun \"rewind --help\" for the commands.\n", arg)
	}
	if c := closest(name, []string{"server", "token", "json", "help"}); c != "" {
		return fmt.Sprintf("rewind: unknown flag --%s; did you mean --%s?\n", name, c)
	}
	return fmt.Sprintf("rewind: unknown flag --%s\nRun \"rewind --help\" for the commands and their flags.\n", name)
}
