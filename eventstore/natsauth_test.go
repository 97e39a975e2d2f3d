package eventstore_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/rewindhq/rewind/eventstore"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://alice:pw@host:4222":                 "nats://REDACTED@host:4222",
		"nats://s3cr3tT0ken@host:4222":              "nats://REDACTED@host:4222",
		"nats://host:4222":                          "nats://host:4222",
		"nats://a:pw1@h1:4222,nats://b:pw2@h2:4222": "nats://REDACTED@h1:4222,nats://REDACTED@h2:4222",
		"alice:pw@host:4222":                        "REDACTED@host:4222", // NATS takes it as nats://
		// The CLI's server URLs go through it too.
		"http://127.0.0.1:4437":             "http://127.0.0.1:4437",
		"http://alice:pw@h:1":               "http://REDACTED@h:1",
		"https://token@h/base":              "https://REDACTED@h/base",
		"http://a:p w@h:1/%zz":              "http://REDACTED@h:1/%zz",
		"a:p@h":                             "REDACTED@h",
		"http://h:1/path@with-at?x=1#frag":  "http://h:1/path@with-at?x=1#frag",
		"http://a:b@h:1/p?x=1":              "http://REDACTED@h:1/p?x=1",
		"not a url":                         "not a url",
		"http://user%40corp:p%3Aw@host:443": "http://REDACTED@host:443",
	} {
		if got := eventstore.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWithListenBeyondLoopbackNeedsAToken: an embedded server listening
// beyond loopback without authentication is refused; with a token it
// listens, and a client without the token is refused.
func TestWithListenBeyondLoopbackNeedsAToken(t *testing.T) {
	ctx := context.Background()
	for _, host := range []string{"", "0.0.0.0", "::"} {
		s, err := eventstore.Open(ctx, t.TempDir(), eventstore.WithListen(host, 0))
		if !errors.Is(err, eventstore.ErrInvalidOption) {
			if s != nil {
				s.Close()
			}
			t.Fatalf("WithListen(%q, 0) without a token: %v, want ErrInvalidOption", host, err)
		}
	}
	const token = "a-listener-token-of-some-length"
	s, err := eventstore.Open(ctx, t.TempDir(), eventstore.WithListen("127.0.0.1", 0), eventstore.WithListenToken(token))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if nc, err := nats.Connect(s.ClientURL()); err == nil {
		nc.Close()
		t.Fatal("a client without the token connected")
	}
	other, err := eventstore.Connect(ctx, s.ClientURL(), eventstore.WithIndexDir(t.TempDir()), eventstore.WithNATSOptions(nats.Token(token)))
	if err != nil {
		t.Fatalf("Connect with the token: %v", err)
	}
	other.Close()
	u := strings.Replace(s.ClientURL(), "nats://", "nats://"+token+"@", 1)
	if _, err := eventstore.Connect(ctx, u+"0", eventstore.WithIndexDir(t.TempDir())); err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("a failed Connect's error shows the token, or there was none: %v", err)
	}
}

func TestNATSAuthOptionsRefuseBadInput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	notPEM := dir + "/not.pem"
	if err := os.WriteFile(notPEM, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, opt := range map[string]eventstore.Option{
		"nkey seed file missing":        eventstore.WithNATSNKey(t.TempDir() + "/missing.nk"),
		"client cert without key":       eventstore.WithNATSTLS("", "cert.pem", ""),
		"empty credentials file":        eventstore.WithNATSCredentials(""),
		"short listener token":          eventstore.WithListenToken("short"),
		"credentials file missing":      eventstore.WithNATSCredentials(dir + "/missing.creds"),
		"credentials not a creds file":  eventstore.WithNATSCredentials(notPEM),
		"CA file missing":               eventstore.WithNATSTLS(dir+"/missing.pem", "", ""),
		"CA file without a certificate": eventstore.WithNATSTLS(notPEM, "", ""),
		"client key pair missing":       eventstore.WithNATSTLS("", dir+"/c.pem", dir+"/k.pem"),
	} {
		if _, err := eventstore.Connect(ctx, "nats://127.0.0.1:1", opt, eventstore.WithIndexDir(t.TempDir())); !errors.Is(err, eventstore.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
}
