package eventstore

import (
	"strings"
	"testing"
)

// TestIndexDirNameHasNoSecret: Connect's default index directory is named
// without the URL's user info, and the same for any password.
func TestIndexDirNameHasNoSecret(t *testing.T) {
	a := indexDirName("nats://alice:pw-1234@nats.example:4222", "rewind")
	b := indexDirName("nats://alice:other@nats.example:4222", "rewind")
	c := indexDirName("nats://nats.example:4222", "rewind")
	if strings.Contains(a, "pw-1234") || strings.Contains(a, "alice") || a != b || a != c {
		t.Errorf("index directory names %q, %q, %q: want one name without user info", a, b, c)
	}
	if indexDirName("nats://other.example:4222", "rewind") == a {
		t.Error("two servers share an index directory name")
	}
}
