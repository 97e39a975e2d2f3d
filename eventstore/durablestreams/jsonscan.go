package durablestreams

import (
	"slices"
	"unicode/utf8"
)

// A JSON body is checked and, when it is an array, split into its elements
// in one pass: encoding/json's Valid followed by a split cost about a
// fifth of the server's CPU on batches of small messages, and a POST only
// needs to know that its body is JSON and where its elements start and end.
// The grammar is RFC 8259's, as encoding/json accepts it (the same nesting
// limit; strings may hold any byte from 0x20 up, valid UTF-8 or not), which
// FuzzScanJSON checks against encoding/json.

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

// scanJSON reports whether body is one JSON value with optional white space
// around it and, when that value is an array, returns its elements
// (trimmed); array tells which. It stops at the array's most+1st element,
// which it returns with the others, unchecked after it: an append of that
// many is refused whatever follows, and its elements are not kept.
func scanJSON(body []byte, most int) (elems [][]byte, array, ok bool) {
	s := jsonScanner{b: body}
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '[' {
		s.i++
		s.depth = 1
		s.space()
		if s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
		} else {
			for {
				start := s.i
				if !s.value() {
					return nil, false, false
				}
				if len(elems) == cap(elems) {
					// Doubled: append grows a large slice by a quarter,
					// and a few hundred thousand one-byte elements took
					// five times the final array in the arrays before it.
					elems = slices.Grow(elems, max(len(elems), 8))
				}
				elems = append(elems, s.b[start:s.i])
				if len(elems) > most {
					return elems, true, true
				}
				s.space()
				if s.i >= len(s.b) {
					return nil, false, false
				}
				if s.b[s.i] == ']' {
					s.i++
					break
				}
				if s.b[s.i] != ',' {
					return nil, false, false
				}
				s.i++
				s.space()
			}
		}
		array = true
	} else if !s.value() {
		return nil, false, false
	}
	s.space()
	if s.i != len(s.b) {
		return nil, false, false
	}
	return elems, array, true
}

type jsonScanner struct {
	b     []byte
	i     int
	depth int
}

func (s *jsonScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value at s.i (no white space before it).
func (s *jsonScanner) value() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.str()
	case c == '{':
		return s.object()
	case c == '[':
		return s.array()
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return false
}

func (s *jsonScanner) lit(w string) bool {
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		return false
	}
	s.i += len(w)
	return true
}

func (s *jsonScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

func (s *jsonScanner) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) {
		return false
	}
	if s.b[s.i] == '0' {
		s.i++
	} else if !s.digits() {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// str scans a string from its opening quote.
func (s *jsonScanner) str() bool {
	s.i++
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return true
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return false
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if len(s.b)-s.i < 6 || !isHex(s.b[s.i+2]) || !isHex(s.b[s.i+3]) || !isHex(s.b[s.i+4]) || !isHex(s.b[s.i+5]) {
					return false
				}
				s.i += 6
			default:
				return false
			}
		case c < 0x20:
			return false
		case c >= utf8.RuneSelf:
			// JSON is UTF-8 (RFC 8259): a byte that starts no character,
			// or a character cut short, is not JSON.
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				return false
			}
			s.i += size
		default:
			s.i++
		}
	}
	return false
}

func (s *jsonScanner) enter() bool {
	s.depth++
	return s.depth <= maxJSONDepth
}

func (s *jsonScanner) object() bool {
	if !s.enter() {
		return false
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' || !s.str() {
			return false
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.space()
		if !s.value() {
			return false
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case '}':
			s.i++
			s.depth--
			return true
		case ',':
			s.i++
			s.space()
		default:
			return false
		}
	}
}

func (s *jsonScanner) array() bool {
	if !s.enter() {
		return false
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		if !s.value() {
			return false
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ']':
			s.i++
			s.depth--
			return true
		case ',':
			s.i++
			s.space()
		default:
			return false
		}
	}
}
