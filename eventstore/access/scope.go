package access

import (
	"fmt"
	"strings"
)

// Scope is one permission a credential carries, parsed from its text form
// (see the package documentation for the grammar): "admin",
// "read:orders", "write:chat/*", "delete". Make one with ParseScope.
type Scope struct {
	action  Action // "" for the bare "admin", which allows everything
	pattern string // "*" for every resource
}

// ParseScope parses s, failing with ErrInvalidScope when it does not
// follow the grammar.
func ParseScope(s string) (Scope, error) {
	if s == "admin" {
		return Scope{pattern: "*"}, nil
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
	if err := checkPattern(pattern); err != nil {
		return Scope{}, fmt.Errorf("%w: %q: %s", ErrInvalidScope, s, err.Error())
	}
	return Scope{action: Action(act), pattern: pattern}, nil
}

// checkPattern checks "*", "name" or "name/*", a name being "/"-separated
// non-empty segments without "*" or spaces.
func checkPattern(p string) error {
	if p == "*" {
		return nil
	}
	name := strings.TrimSuffix(p, "/*")
	if name == "" {
		return fmt.Errorf("empty pattern")
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" {
			return fmt.Errorf("empty segment in the pattern")
		}
		if strings.ContainsAny(seg, "* \t\r\n") {
			return fmt.Errorf("a pattern is *, a name, or a name followed by /*")
		}
	}
	return nil
}

// String returns the scope's text form.
func (s Scope) String() string {
	if s.action == "" {
		return "admin"
	}
	if s.pattern == "*" {
		return string(s.action)
	}
	return string(s.action) + ":" + s.pattern
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
	case s.pattern == "*" || op.Resource == "":
		return true
	case op.Resource == "*":
		return false
	case strings.HasSuffix(s.pattern, "/*"):
		prefix := s.pattern[:len(s.pattern)-1]
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
