package aggregatehttp_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A command whose body does not arrive in time is a 408 with a plain
// reason, and one cut short a 400 about its JSON: never the I/O error,
// which names the server's sockets. Nothing is stored for either.
func TestCommandBodyReadFailures(t *testing.T) {
	s := newServer(t)
	h := s.reg.Handler()
	// As access.NewServer gives a body BodyTimeout, here 300 ms.
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		h.ServeHTTP(w, r)
	}))
	defer hs.Close()
	addr := strings.TrimPrefix(hs.URL, "http://")
	for _, tc := range []struct {
		name     string
		cut      bool
		code     int
		contains string
	}{
		{"slow", false, http.StatusRequestTimeout, "did not arrive in time"},
		{"cut", true, http.StatusBadRequest, "not a JSON object"},
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(c, "POST /v1/commands/carts/c9 HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"type\":\"Open\""); err != nil {
			t.Fatal(err)
		}
		if tc.cut {
			_ = c.(*net.TCPConn).CloseWrite()
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.contains) || strings.Contains(string(b), "tcp") || strings.Contains(string(b), "127.0.0.1") {
			t.Errorf("%s: %d %q, want %d saying %q and nothing of the socket", tc.name, resp.StatusCode, b, tc.code, tc.contains)
		}
	}
	if code, body := s.do(t, http.MethodGet, "/v1/state/carts/c9", ""); code != http.StatusNotFound {
		t.Errorf("GET /v1/state/carts/c9: %d %s, want 404: nothing stored", code, body)
	}
}
