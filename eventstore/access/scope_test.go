package access_test

import (
	"errors"
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
