package clientshare

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"
)

func TestKey(t *testing.T) {
	if k := Key(&http.Request{Header: http.Header{}}); k != "" {
		t.Errorf("the key of a request without a credential is %q, want none", k)
	}
	a := Key(&http.Request{Header: http.Header{"Authorization": {"Bearer x"}}})
	b := Key(&http.Request{Header: http.Header{"Authorization": {"Bearer y"}}})
	if a == "" || a == b {
		t.Errorf("two tokens' keys: %q, %q", a, b)
	}
	if a2 := Key(&http.Request{Header: http.Header{"Authorization": {"Bearer x"}}}); a2 != a {
		t.Errorf("one token, two keys: %q, %q", a, a2)
	}
	cert := func(raw string) *http.Request {
		return &http.Request{Header: http.Header{}, TLS: &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Raw: []byte(raw)}}}}
	}
	c1, c2 := Key(cert("one")), Key(cert("two"))
	if c1 == "" || c1 == c2 || c1 == a {
		t.Errorf("certificates' keys: %q, %q (token's %q)", c1, c2, a)
	}
}

// TestKeyHowEverSpelt: the spellings of one credential that an
// authorizer takes are one client; other credentials are others.
func TestKeyHowEverSpelt(t *testing.T) {
	key := func(a string) string { return Key(&http.Request{Header: http.Header{"Authorization": {a}}}) }
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzY29wZSI6InJlYWQifQ.sig"
	for _, same := range [][]string{
		{"Bearer t", "bearer t", "BEARER   t", "Bearer t \t"},
		{"Bearer " + jwt, "Bearer " + jwt[:len(jwt)-1] + "h", "bearer  " + jwt},
	} {
		for _, a := range same[1:] {
			if key(a) != key(same[0]) {
				t.Errorf("%q and %q are two clients", same[0], a)
			}
		}
	}
	for _, pair := range [][2]string{{"Bearer t", "Bearer u"}, {"Bearer a.b.c", "Bearer a.x.c"}, {"Basic t", "Bearer t"}} {
		if key(pair[0]) == key(pair[1]) {
			t.Errorf("%q and %q are one client", pair[0], pair[1])
		}
	}
}

func TestCounts(t *testing.T) {
	c := NewCounts(10)
	if c.Max() != 2 {
		t.Fatalf("Max = %d of a bound of 10, want 2", c.Max())
	}
	if !c.Take("a") || !c.Take("a") {
		t.Fatal("a's first two were refused")
	}
	if c.Take("a") {
		t.Error("a took a third of a part of two")
	}
	if !c.Take("b") {
		t.Error("b was refused while a held its part")
	}
	for range 100 {
		if !c.Take("") {
			t.Fatal("a request without a client of its own was refused")
		}
	}
	c.Give("a")
	if !c.Take("a") {
		t.Error("a was refused after giving one back")
	}
	c.Give("a")
	c.Give("a")
	c.Give("b")
	c.Give("")
	if n := c.Len(); n != 0 {
		t.Errorf("%d clients held after all gave back, want 0", n)
	}
	if NewCounts(1).Max() != 1 {
		t.Error("a bound of 1 gives a client no part")
	}
}
