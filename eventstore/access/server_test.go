package access_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/internal/rawhttp"
)

// serve runs h in access.NewServer on a free loopback port and returns the
// address.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := access.NewServer(h)
	done := make(chan error, 1)
	go func() { done <- access.Serve(srv, ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Error(err)
		}
	})
	return ln.Addr().String()
}

// A handler that refuses a request without reading its body answers at
// once, whatever the client announced and has not sent: a large body, a
// small one, a body behind Expect: 100-continue. The body's read deadline
// (two minutes) is for handlers that read it, not for the server to
// discard what a refusal leaves unread.
func TestRefusalDoesNotWaitForTheBody(t *testing.T) {
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no bearer token", http.StatusUnauthorized)
	}))
	for _, tc := range []struct{ name, head, body string }{
		{"large body announced, little sent", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\n", "[{}]"},
		{"small body announced, little sent", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n", "[{}]"},
		{"100-continue, nothing sent", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 9000000\r\nExpect: 100-continue\r\n", ""},
		{"chunked, unfinished", "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n", "4\r\n[{}]\r\n"},
	} {
		a := rawhttp.Send(t, addr, tc.head, tc.body, false)
		if a.Status != http.StatusUnauthorized || a.Took > 5*time.Second {
			t.Errorf("%s: %d after %v, want 401 at once", tc.name, a.Status, a.Took)
		}
	}
}

// A handler that reads the body still gets all of it, however slowly it
// comes within the deadline, and the connection is kept for the next
// request when the body was read to its end.
func TestBodyReadAndConnectionKept(t *testing.T) {
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d", len(b))
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rd := bufio.NewReader(c)
	for i := range 2 {
		if _, err := io.WriteString(c, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		if _, err := io.WriteString(c, "56789"); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(rd, nil)
		if err != nil {
			t.Fatalf("request %d on the connection: %v", i+1, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "10" || resp.Close {
			t.Fatalf("request %d: %d %q close=%v, want 200 \"10\" on a kept connection", i+1, resp.StatusCode, b, resp.Close)
		}
	}
}

// TestNilOptionsIgnored: a nil ServerOption or JWTOption is ignored, as
// the store's options are; the options beside it still apply.
func TestNilOptionsIgnored(t *testing.T) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13}
	if srv := access.NewServer(http.NotFoundHandler(), nil, access.WithTLS(cfg), nil); srv.TLSConfig != cfg {
		t.Error("the TLS configuration beside the nil ServerOptions was not taken")
	}
	secret := []byte(strings.Repeat("k", 32))
	j, err := access.NewHS256(secret, nil, access.WithIssuer("us"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+sign(t, jose.HS256, secret, "", map[string]any{"iss": "them", "scope": "read", "exp": time.Now().Add(time.Hour).Unix()}))
	if err := j.Authorize(r, access.Op{Action: access.Read, Resource: "s"}); err == nil {
		t.Error("a token of another issuer was taken: the WithIssuer beside the nil JWTOptions was lost")
	}
}
