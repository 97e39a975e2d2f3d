package aggregatehttp_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/internal/rawhttp"
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
		a := rawhttp.Send(t, addr, "POST /v1/commands/carts/c9 HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n", `{"type":"Open"`, tc.cut)
		if a.Status != tc.code || !strings.Contains(string(a.Body), tc.contains) || strings.Contains(string(a.Body), "tcp") || strings.Contains(string(a.Body), "127.0.0.1") {
			t.Errorf("%s: %d %q, want %d saying %q and nothing of the socket", tc.name, a.Status, a.Body, tc.code, tc.contains)
		}
	}
	if code, body := s.do(t, http.MethodGet, "/v1/state/carts/c9", ""); code != http.StatusNotFound {
		t.Errorf("GET /v1/state/carts/c9: %d %s, want 404: nothing stored", code, body)
	}
}

// TestCommandBodyAfterTheObject: what follows a command's object is read
// to the body's end: white space is fine, anything else a 400, and a body
// over 1 MiB a 413 even when the excess is white space; nothing is stored
// for a refused one.
func TestCommandBodyAfterTheObject(t *testing.T) {
	s := newServer(t)
	for _, tc := range []struct {
		id, rest string
		code     int
	}{
		{"w1", " \n\t ", http.StatusOK},
		{"w2", strings.Repeat(" ", 2<<20), http.StatusRequestEntityTooLarge},
		{"w3", " {}", http.StatusBadRequest},
		{"w4", strings.Repeat(" ", 8<<10) + "x", http.StatusBadRequest},
	} {
		code, body := s.do(t, http.MethodPost, "/v1/commands/carts/"+tc.id, `{"type":"Open","customer":"ada"}`+tc.rest)
		if code != tc.code {
			t.Errorf("%s: %d %.100s, want %d", tc.id, code, body, tc.code)
		}
		want := http.StatusNotFound
		if tc.code == http.StatusOK {
			want = http.StatusOK
		}
		if code, body := s.do(t, http.MethodGet, "/v1/state/carts/"+tc.id, ""); code != want {
			t.Errorf("%s: the state after it: %d %s, want %d", tc.id, code, body, want)
		}
	}
}
