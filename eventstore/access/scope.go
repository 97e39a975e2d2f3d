package access

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/rewindhq/rewind/internal/streamname"
)

// Scope is one permission a credential carries, parsed from its text form
// (see the package documentation for the grammar): "admin",
// "read:orders", "write:chat/*", "delete". Make one with ParseScope.
type Scope struct {
	action  Action // "" for the bare "admin", which allows everything
	pattern string // "" for every resource ("*"); else a name, unescaped
	below   bool   // only what is below pattern ("name/*")
}

// ParseScope parses s, failing with ErrInvalidScope when it does not
// follow the grammar.
func ParseScope(s string) (Scope, error) {
	if s == "admin" {
		return Scope{}, nil
	}
	act, pattern, hasPattern := strings.Cut(s, ":")
	switch Action(act) {
	case Read, Write, Delete, Admin:
	default:
		return Scope{}, fmt.Errorf("%w: %q: the action must be read, write, delete or admin", ErrInvalidScope, s)
	}
	if !hasPattern {
		pattern = "*"
	}
	name, below, err := parsePattern(pattern)
	if err != nil {
		return Scope{}, fmt.Errorf("%w: %q: %s", ErrInvalidScope, s, err.Error())
	}
	return Scope{action: Action(act), pattern: name, below: below}, nil
}

// parsePattern checks "*", "name" or "name/*" and returns the name,
// unescaped ("" for "*"), and whether the pattern is only what is below it. The name
// is a stream's name (streamname.Check: what no stream can be named, as
// "a/../b", no scope grants), written with %XX for each byte of a
// character a scope cannot hold as it is: white space, which separates
// scopes in a tokens file and in a JWT's scope claim, "#", which starts a
// tokens file's comment, "*", the wildcard, and "%" itself.
func parsePattern(p string) (name string, below bool, err error) {
	if p == "*" {
		return "", false, nil
	}
	raw, below := strings.CutSuffix(p, "/*")
	if raw == "" {
		return "", false, fmt.Errorf("empty pattern")
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r != '%' && mustEscape(r) }) {
		return "", false, fmt.Errorf("a pattern is *, a name, or a name followed by /*; in a name, white space, # and * are written %%20, %%23 and %%2A")
	}
	if name, err = url.PathUnescape(raw); err != nil {
		return "", false, fmt.Errorf("a %% in a name starts an escape, %%XX (%%25 for %% itself)")
	}
	if err := streamname.Check(name); err != nil {
		return "", false, fmt.Errorf("no stream can be named so: %s", err.Error())
	}
	return name, below, nil
}

// mustEscape reports whether r is written %XX in a scope's name.
func mustEscape(r rune) bool {
	return unicode.IsSpace(r) || r == '#' || r == '*' || r == '%'
}

// escapeName writes a resource's name as a scope holds it (parsePattern).
func escapeName(name string) string {
	if !strings.ContainsFunc(name, mustEscape) {
		return name
	}
	var b strings.Builder
	for _, r := range name {
		if !mustEscape(r) {
			b.WriteRune(r)
			continue
		}
		for _, c := range []byte(string(r)) {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// String returns the scope's text form.
func (s Scope) String() string {
	if s.action == "" {
		return "admin"
	}
	if s.pattern == "" {
		return string(s.action)
	}
	if s.below {
		return string(s.action) + ":" + escapeName(s.pattern) + "/*"
	}
	return string(s.action) + ":" + escapeName(s.pattern)
}

// Allows reports whether the scope allows op.
func (s Scope) Allows(op Op) bool {
	if s.action == "" {
		return true
	}
	if s.action != op.Action {
		return false
	}
	switch {
	case s.pattern == "" || op.Resource == "":
		return true
	case op.Resource == "*":
		return false
	case s.below:
		prefix := s.pattern + "/"
		return len(op.Resource) > len(prefix) && strings.HasPrefix(op.Resource, prefix)
	default:
		return op.Resource == s.pattern ||
			(len(op.Resource) > len(s.pattern) && strings.HasPrefix(op.Resource, s.pattern) && op.Resource[len(s.pattern)] == '/')
	}
}

// Scopes is the set of scopes one credential carries.
type Scopes []Scope

// ParseScopes parses each of ss (see ParseScope).
func ParseScopes(ss ...string) (Scopes, error) {
	out := make(Scopes, 0, len(ss))
	for _, s := range ss {
		sc, err := ParseScope(s)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// Allows reports whether one of the scopes allows op.
func (ss Scopes) Allows(op Op) bool {
	for _, s := range ss {
		if s.Allows(op) {
			return true
		}
	}
	return false
}

// check returns nil when ss allow op, else a *ForbiddenError naming the
// scope op needs.
func (ss Scopes) check(op Op) error {
	if ss.Allows(op) {
		return nil
	}
	return &ForbiddenError{Scope: op.Scope()}
}
