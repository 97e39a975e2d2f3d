// Package streamname holds the rule of stream names, which two packages
// apply: eventstore, to every name it is given, and eventstore/access, to
// the names of scopes (a scope grants what a stream can be named, no
// more), which cannot import eventstore.
package streamname

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest stream name, in bytes.
const MaxLen = 1024

// Check returns nil if name can name a stream (or, with one segment, a
// category), and otherwise an error that says why: a name is at most
// MaxLen bytes of UTF-8, without control characters, in non-empty
// segments separated by "/", none of them "." or "..".
func Check(name string) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	if len(name) > MaxLen {
		return fmt.Errorf("%d bytes, more than %d", len(name), MaxLen)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%q is not valid UTF-8", name)
	}
	for seg := range strings.SplitSeq(name, "/") {
		switch seg {
		case "":
			return fmt.Errorf("%q has an empty segment", name)
		case ".", "..":
			return fmt.Errorf("%q has a %q segment", name, seg)
		}
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("%q contains a control character", name)
		}
	}
	return nil
}
