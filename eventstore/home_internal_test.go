package eventstore

import "testing"

func TestHomeURL(t *testing.T) {
	for _, tc := range []struct{ configured, server, want string }{
		// A configured URL for the host is used whole, credentials and all.
		{"nats://a:1,nats://u:p@b:2", "nats://b:2", "nats://u:p@b:2"},
		{"tls://tok@a:1", "nats://a:1", "tls://tok@a:1"},
		// Without a scheme, as nats.Connect also takes them.
		{"a:1, b:2", "nats://b:2", "nats://b:2"},
		// An advertised server gets the first configured credentials.
		{"nats://x:1,nats://u:p@a:1", "nats://c:3", "nats://u:p@c:3"},
		{"nats://tok@a:1", "nats://c:3", "nats://tok@c:3"},
		{"nats://a:1", "nats://c:3", "nats://c:3"},
	} {
		if got := homeURL(tc.configured, tc.server); got != tc.want {
			t.Errorf("homeURL(%q, %q) = %q, want %q", tc.configured, tc.server, got, tc.want)
		}
	}
}
