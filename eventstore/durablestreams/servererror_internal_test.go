package durablestreams

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A failure on the server's side answers 500 without the internal error:
// what the client can do and a request id, which the log line of the error
// carries too.
func TestServerErrorHidesTheCause(t *testing.T) {
	var logged bytes.Buffer
	h := &Handler{cfg: config{log: slog.New(slog.NewTextHandler(&logged, nil))}}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "http://127.0.0.1/v1/stream/a", nil)
	h.storeError(w, r, "a", errors.New("nats: secret internal detail"))
	body := w.Body.String()
	if w.Code != http.StatusInternalServerError || strings.Contains(body, "secret") {
		t.Fatalf("answer %d %q", w.Code, body)
	}
	i := strings.Index(body, "request id ")
	if i < 0 {
		t.Fatalf("no request id in %q", body)
	}
	id := strings.Fields(body[i+len("request id "):])[0]
	if !strings.Contains(logged.String(), "request_id="+id) || !strings.Contains(logged.String(), "secret internal detail") {
		t.Errorf("no log line with request id %s and the cause:\n%s", id, logged.String())
	}
}
