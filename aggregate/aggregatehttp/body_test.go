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
