package eventstore

import (
	"errors"
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

// TestSecretsOfEveryURLForm: the password or token of a server URL is
// hidden from an error's text and from the index directory's name in
// every form NATS takes, parsed or not.
func TestSecretsOfEveryURLForm(t *testing.T) {
	for url, secret := range map[string]string{
		"nats://alice:pw-1234@h:4222":           "pw-1234",
		"nats://tok-5678@h:4222":                "tok-5678",
		"alice:pw-2345@h:4222":                  "pw-2345",  // no scheme: NATS adds nats://
		"nats://alice:p/w-3456@h:4222":          "p/w-3456", // unescaped: url.Parse refuses it
		"nats://alice:p%25w-4567@h:4222":        "p%w-4567", // escaped: the error may show either
		"nats://a:b@h1:4222,bob:pw-5678@h2:422": "pw-5678",
	} {
		err := redactError(errors.New("dial "+url+": refused, password "+secret), url)
		if strings.Contains(err.Error(), secret) {
			t.Errorf("redactError for %q: %q", url, err)
		}
		if !errors.Is(err, errors.Unwrap(err)) || errors.Unwrap(err) == nil {
			t.Errorf("redactError for %q does not wrap the error", url)
		}
		other := strings.ReplaceAll(url, secret, "changed")
		if strings.Contains(url, "%25") {
			other = strings.ReplaceAll(url, "p%25w-4567", "changed")
		}
		if a, b := indexDirName(url, "rewind"), indexDirName(other, "rewind"); a != b {
			t.Errorf("index directory of %q changes with the password: %q, %q", url, a, b)
		}
	}
	// The user name alone is not a secret, and a short one must not
	// garble the rest of the text.
	if err := redactError(errors.New("nats: authorization violation"), "nats://a:secret-pw@h:4222"); err.Error() != "nats: authorization violation" {
		t.Errorf("text without the secret changed: %q", err)
	}
}
