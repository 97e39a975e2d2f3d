package eventstore

import (
	"fmt"
	"strings"

	"github.com/rewindhq/rewind/internal/streamname"
)

// MaxStreamNameLen is the longest stream name, in bytes, that the store
// accepts. Escaping can triple a name's length and a NATS subject has to fit
// in a protocol line, so names are kept well below that limit.
const MaxStreamNameLen = streamname.MaxLen

// The mapping from stream names to JetStream subjects.
//
// A stream name is a path of one or more segments separated by "/":
// "orders/123" or "orders/123/events". Each segment becomes one subject
// token under the store's subject prefix, so "orders/123" is stored on
// "rewind.s.orders.123". Inside a segment the bytes A-Z, a-z, 0-9, "-" and
// "_" stand for themselves and every other byte becomes "%" and two
// upper-case hex digits ("." → "%2E", "*" → "%2A", " " → "%20", "é" →
// "%C3%A9"). Because "%" itself is escaped, the mapping is injective and
// reversible, and no name can produce a wildcard, an empty token, a token
// starting with "$" or a subject outside the prefix: JetStream's and
// Rewind's own subjects are unreachable through any stream name.
//
// The first segment is the stream's category; a category is read with the
// filters "<prefix>.<cat>" and "<prefix>.<cat>.>".

// CheckStreamName returns nil if name can name a stream, and otherwise an
// error wrapping ErrInvalidStreamName that says why. It applies the rules
// every method taking a stream name applies (Append, Read, Subscribe...):
// a caller that takes names from outside, from a configuration or a
// request, can refuse a bad one before it is used.
func CheckStreamName(name string) error { return validateName(name) }

// CheckCategory is CheckStreamName for a category (ReadCategory,
// SubscribeCategory): one segment, with no "/".
func CheckCategory(name string) error {
	if err := validateName(name); err != nil {
		return err
	}
	if strings.Contains(name, "/") {
		return fmt.Errorf("%w: category %q has more than one segment", ErrInvalidStreamName, name)
	}
	return nil
}

// validateName checks a stream name (or, with one segment, a category)
// by the rule scopes apply too (streamname.Check).
func validateName(name string) error {
	if err := streamname.Check(name); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidStreamName, err)
	}
	return nil
}

func isPlain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// allPlain reports whether every byte of s is plain (A-Z a-z 0-9 - _),
// the characters JetStream takes in a stream's or a bucket's name.
func allPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isPlain(s[i]) {
			return false
		}
	}
	return true
}

const hexDigits = "0123456789ABCDEF"

// appendSubject appends the subject tokens for a valid name to b.
func appendSubject(b []byte, prefix, name string) []byte {
	b = append(b, prefix...)
	b = append(b, '.')
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '/':
			b = append(b, '.')
		case isPlain(c):
			b = append(b, c)
		default:
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	return b
}

// subjectFor returns the JetStream subject of a stream, or an error wrapping
// ErrInvalidStreamName.
func subjectFor(prefix, name string) (string, error) {
	if err := validateName(name); err != nil {
		return "", err
	}
	return string(appendSubject(make([]byte, 0, len(prefix)+len(name)+8), prefix, name)), nil
}

// categoryFilters returns the subject filters that select every stream of a
// category.
func categoryFilters(prefix, category string) ([]string, error) {
	if err := CheckCategory(category); err != nil {
		return nil, err
	}
	subj, _ := subjectFor(prefix, category)
	return []string{subj, subj + ".>"}, nil
}

// nameFromSubject reverses appendSubject. It reports false for a subject
// that no stream name maps to.
func nameFromSubject(prefix, subject string) (string, bool) {
	if len(subject) <= len(prefix)+1 || subject[:len(prefix)] != prefix || subject[len(prefix)] != '.' {
		return "", false
	}
	rest := subject[len(prefix)+1:]
	if !strings.ContainsAny(rest, ".%") {
		return rest, true
	}
	b := make([]byte, 0, len(rest))
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case c == '.':
			b = append(b, '/')
		case c == '%':
			if i+2 >= len(rest) {
				return "", false
			}
			hi, lo := unhex(rest[i+1]), unhex(rest[i+2])
			if hi < 0 || lo < 0 {
				return "", false
			}
			b = append(b, byte(hi<<4|lo))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}
