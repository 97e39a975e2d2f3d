package access_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rewindhq/rewind/eventstore/access"
)

func TestAnonymous(t *testing.T) {
	a := access.Anonymous{Origins: []string{"http://localhost:5173"}, Hosts: []string{"rewind.internal", "dev.test:8080"}}
	for _, c := range []struct {
		method, host, origin string
		want                 error
	}{
		{"GET", "127.0.0.1:4437", "", nil},
		{"GET", "localhost:4437", "", nil},
		{"GET", "[::1]:4437", "", nil},
		{"GET", "LOCALHOST", "", nil},
		{"GET", "evil.example:4437", "", access.ErrForbidden},  // DNS rebinding
		{"GET", "127.0.0.1:4437", "https://evil.example", nil}, // reads stay open, CORS *
		{"POST", "127.0.0.1:4437", "", nil},
		{"POST", "127.0.0.1:4437", "http://127.0.0.1:4437", nil},
		{"DELETE", "localhost:4437", "http://localhost:4437", nil},
		{"POST", "127.0.0.1:4437", "http://127.0.0.1:9999", access.ErrForbidden},
		{"DELETE", "127.0.0.1:4437", "https://evil.example", access.ErrForbidden},
		{"PUT", "127.0.0.1:4437", "null", access.ErrForbidden},
		{"POST", "127.0.0.1:4437", "http://localhost:5173", nil},
		{"POST", "rewind.internal:4437", "http://rewind.internal:4437", nil},
		{"GET", "dev.test:8080", "", nil},
		{"GET", "dev.test:9090", "", access.ErrForbidden},
		{"POST", "evil.example:4437", "http://evil.example:4437", access.ErrForbidden},
	} {
		r := httptest.NewRequest(c.method, "http://"+c.host+"/v1/stream/x", nil)
		r.Host, r.RemoteAddr = c.host, "127.0.0.1:50000"
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		err := a.Authorize(r, access.Op{Action: access.Write, Resource: "x"})
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s Host %s Origin %q: %v, want %v", c.method, c.host, c.origin, err, c.want)
		}
	}
	// Over TLS the Host is the certificate's name, which the client has
	// checked: a name is taken; a foreign Origin still is not.
	r := httptest.NewRequest("GET", "https://rewind.example:4437/v1/stream/x", nil)
	r.RemoteAddr = "[::1]:50000"
	if err := a.Authorize(r, access.Op{Action: access.Read, Resource: "x"}); err != nil {
		t.Errorf("GET over TLS by name: %v, want it taken", err)
	}
	r = httptest.NewRequest("POST", "https://rewind.example:4437/v1/stream/x", nil)
	r.RemoteAddr = "127.0.0.1:50000"
	r.Header.Set("Origin", "https://evil.example")
	if err := a.Authorize(r, access.Op{Action: access.Write, Resource: "x"}); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("POST over TLS from another origin: %v, want ErrForbidden", err)
	}
}

// Without authentication a client beyond loopback is refused, as
// durablestreams.WithAuthorizer's doc says of the default: a handler
// mounted without an Authorizer on a server that listens on a network
// must not serve the network. Remote (--insecure-no-auth) or a verified
// client certificate lets it in; a client on this machine by a Unix
// socket (no IP address) is local.
func TestAnonymousRemote(t *testing.T) {
	for _, c := range []struct {
		a      access.Anonymous
		remote string
		tls    *tls.ConnectionState
		want   error
	}{
		{access.Anonymous{}, "127.0.0.1:50000", nil, nil},
		{access.Anonymous{}, "127.3.4.5:50000", nil, nil},
		{access.Anonymous{}, "[::1]:50000", nil, nil},
		{access.Anonymous{}, "[::ffff:127.0.0.1]:50000", nil, nil},
		{access.Anonymous{}, "@", nil, nil},
		{access.Anonymous{}, "", nil, nil},
		{access.Anonymous{}, "192.0.2.1:1234", nil, access.ErrForbidden},
		{access.Anonymous{}, "10.0.0.7:50000", nil, access.ErrForbidden},
		{access.Anonymous{}, "[2001:db8::1]:50000", nil, access.ErrForbidden},
		{access.Anonymous{}, "192.0.2.1:1234", &tls.ConnectionState{}, access.ErrForbidden},
		{access.Anonymous{}, "192.0.2.1:1234", &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{{}}}}, nil},
		{access.Anonymous{Remote: true}, "192.0.2.1:1234", nil, nil},
		// What middleware copying a forwarded header may leave there.
		{access.Anonymous{}, "127.0.0.1", nil, nil},
		{access.Anonymous{}, "203.0.113.9", nil, access.ErrForbidden},
		{access.Anonymous{}, "unknown", nil, access.ErrForbidden},
		{access.Anonymous{}, "pipe", nil, access.ErrForbidden},
		{access.Anonymous{}, "203.0.113.9, 127.0.0.1", nil, access.ErrForbidden},
	} {
		for _, method := range []string{"GET", "POST"} {
			r := httptest.NewRequest(method, "http://127.0.0.1:4437/v1/stream/x", nil)
			r.RemoteAddr, r.TLS = c.remote, c.tls
			err := c.a.Authorize(r, access.Op{Action: access.Read, Resource: "x"})
			if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
				t.Errorf("%s from %q (Remote %v, TLS %v): %v, want %v", method, c.remote, c.a.Remote, c.tls != nil, err, c.want)
			}
		}
	}
	// A request that came in on a Unix socket is local, whatever its
	// RemoteAddr says.
	r := httptest.NewRequest("GET", "http://127.0.0.1:4437/v1/stream/x", nil)
	r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.UnixAddr{Name: "/run/rewind.sock", Net: "unix"}))
	r.RemoteAddr = "unknown"
	if err := (access.Anonymous{}).Authorize(r, access.Op{Action: access.Read, Resource: "x"}); err != nil {
		t.Errorf("a request on a Unix socket: %v", err)
	}
	// The configuration's Anonymous lets remote clients in with
	// --insecure-no-auth only.
	for _, insecure := range []bool{false, true} {
		a, err := (&access.Config{InsecureNoAuth: insecure}).Authorizer()
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "http://127.0.0.1:4437/v1/stream/x", nil)
		if err := a.Authorize(r, access.Op{Action: access.Read, Resource: "x"}); (err == nil) != insecure {
			t.Errorf("InsecureNoAuth %v, a remote client: %v", insecure, err)
		}
	}
}

func TestCheckListen(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:4437", "localhost:0", "[::1]:4437", "127.1.2.3:80"} {
		if err := access.CheckListen(addr); err != nil {
			t.Errorf("CheckListen(%q): %v", addr, err)
		}
	}
	for _, addr := range []string{":4437", "0.0.0.0:4437", "[::]:4437", "192.168.1.2:4437", "example.com:80"} {
		if err := access.CheckListen(addr); !errors.Is(err, access.ErrInsecureListen) {
			t.Errorf("CheckListen(%q): %v, want ErrInsecureListen", addr, err)
		}
	}
	c := access.Config{InsecureNoAuth: true}
	if err := c.CheckListen(":4437"); err != nil {
		t.Errorf("--insecure-no-auth: %v", err)
	}
	c = access.Config{TokensFile: "tokens"}
	if err := c.CheckListen(":4437"); err != nil {
		t.Errorf("with tokens: %v", err)
	}
}
