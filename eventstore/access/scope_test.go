package access_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/eventstore/access"
)

func TestParseScope(t *testing.T) {
	for _, s := range []string{"admin", "read", "write", "delete", "admin:order_summary", "read:*", "read:orders",
		"write:chat/*", "read:a/b/c", "delete:x/*"} {
		sc, err := access.ParseScope(s)
		if err != nil {
			t.Errorf("ParseScope(%q): %v", s, err)
			continue
		}
		want := s
		if s == "read:*" {
			want = "read"
		}
		if sc.String() != want {
			t.Errorf("ParseScope(%q).String() = %q", s, sc.String())
		}
	}
	for _, s := range []string{"", "root", "Read:x", "read:", "read:/x", "read:x/", "read:x//y", "read:x*", "read:*/x",
		"read:x/*/y", "read:a b", "write:chat/**", ":x", "admin:"} {
		if _, err := access.ParseScope(s); !errors.Is(err, access.ErrInvalidScope) {
			t.Errorf("ParseScope(%q) = %v, want ErrInvalidScope", s, err)
		}
	}
}

// A scope's name follows the rule of stream names, with %XX for what a
// scope cannot hold as it is: every stream can be granted, and no scope
// names what no stream can be named.
func TestScopeNamesAreStreamNames(t *testing.T) {
	for _, c := range []struct {
		scope, str string
		allows     string
		not        string
	}{
		{"read:a%20b", "read:a%20b", "a b", "a"},
		{"read:a%20b/*", "read:a%20b/*", "a b/c", "a b"},
		{"read:a%2A", "read:a%2A", "a*", "ab"},
		{"read:a%2F%2A", "read:a/%2A", "a/*", "a/b"},
		{"read:x%23y", "read:x%23y", "x#y", "x"},
		{"read:100%25", "read:100%25", "100%", "100"},
		{"read:caf%C3%A9", "read:café", "café", "cafe"},
		{"read:café", "read:café", "café/1", "caf"},
	} {
		sc, err := access.ParseScope(c.scope)
		if err != nil {
			t.Errorf("ParseScope(%q): %v", c.scope, err)
			continue
		}
		if sc.String() != c.str {
			t.Errorf("ParseScope(%q).String() = %q, want %q", c.scope, sc.String(), c.str)
		}
		if !sc.Allows(access.Op{Action: access.Read, Resource: c.allows}) || sc.Allows(access.Op{Action: access.Read, Resource: c.not}) {
			t.Errorf("%q: allows %q %v, %q %v", c.scope, c.allows, sc.Allows(access.Op{Action: access.Read, Resource: c.allows}),
				c.not, sc.Allows(access.Op{Action: access.Read, Resource: c.not}))
		}
		if got := (access.Op{Action: access.Read, Resource: c.allows}).Scope(); !strings.HasSuffix(c.str, "/*") {
			if back, err := access.ParseScope(got); err != nil || !back.Allows(access.Op{Action: access.Read, Resource: c.allows}) {
				t.Errorf("the scope a refusal of %q names, %q, does not grant it: %v", c.allows, got, err)
			}
		}
	}
	for _, s := range []string{"read:a/../b", "read:a/./x", "read:..", "read:%2E%2E", "read:a/%2E", "read:a%", "read:a%zz",
		"read:a#b", "read:a\tb", "read:a\u00a0b", "read:a%00b", "read:a%FF", "read:a%2F%2Fb"} {
		if _, err := access.ParseScope(s); !errors.Is(err, access.ErrInvalidScope) {
			t.Errorf("ParseScope(%q) = %v, want ErrInvalidScope", s, err)
		}
	}
	if got := (access.Op{Action: access.Read, Resource: "*"}).Scope(); got != "read:*" {
		t.Errorf("the scope of every stream: %q", got)
	}
	if sc, _ := access.ParseScope("read"); !sc.Allows(access.Op{Action: access.Read, Resource: "*"}) {
		t.Error("read does not allow every stream")
	}
	if sc, _ := access.ParseScope("read:%2A"); sc.Allows(access.Op{Action: access.Read, Resource: "x"}) {
		t.Error("read:%2A (the stream named *) allows x")
	}
}

func TestScopeAllows(t *testing.T) {
	for _, c := range []struct {
		scope    string
		action   access.Action
		resource string
		want     bool
	}{
		{"admin", access.Delete, "anything/at/all", true},
		{"admin", access.Read, "*", true},
		{"read", access.Read, "orders/1", true},
		{"read", access.Read, "*", true},
		{"read", access.Write, "orders/1", false},
		{"read:*", access.Read, "*", true},
		{"read:orders", access.Read, "orders", true},
		{"read:orders", access.Read, "orders/1", true},
		{"read:orders", access.Read, "orders/1/events", true},
		{"read:orders", access.Read, "ordersX/1", false},
		{"read:orders", access.Read, "orders2", false},
		{"read:orders", access.Read, "*", false},
		{"read:orders", access.Read, "", true},
		{"read:orders", access.Write, "", false},
		{"read:orders", access.Write, "orders/1", false},
		{"write:chat/*", access.Write, "chat/room1", true},
		{"write:chat/*", access.Write, "chat/a/b", true},
		{"write:chat/*", access.Write, "chat", false},
		{"write:chat/*", access.Write, "chat/", false},
		{"write:chat/*", access.Write, "chatter/x", false},
		{"write:chat/*", access.Delete, "chat/room1", false},
		{"write:chat/room1", access.Write, "chat/room1", true},
		{"write:chat/room1", access.Write, "chat/room2", false},
		{"delete:tmp/*", access.Delete, "tmp/x", true},
		{"admin:order_summary", access.Admin, "order_summary", true},
		{"admin:order_summary", access.Admin, "revenue_per_day", false},
		{"admin:order_summary", access.Read, "order_summary", false},
	} {
		sc, err := access.ParseScope(c.scope)
		if err != nil {
			t.Fatal(err)
		}
		if got := sc.Allows(access.Op{Action: c.action, Resource: c.resource}); got != c.want {
			t.Errorf("%q allows %s %q: %v, want %v", c.scope, c.action, c.resource, got, c.want)
		}
	}
}
