package aggregatehttp_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// A 5xx answer never carries the internal error: it says what the client
// can do and gives a request id, and the log line of the error has the
// same id.
func TestServerErrorHidesTheCause(t *testing.T) {
	s := newServer(t)
	var logged bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })
	if err := s.store.Close(); err != nil { // every read fails now
		t.Fatal(err)
	}
	code, body := s.do(t, "GET", "/v1/events?stream=carts/c1", "")
	if code < 500 {
		t.Fatalf("GET events on a closed store: %d %s, want a 5xx", code, body)
	}
	var e struct{ Error string }
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	if strings.Contains(e.Error, "eventstore") || strings.Contains(strings.ToLower(e.Error), "closed") {
		t.Errorf("the answer carries the internal error: %q", e.Error)
	}
	i := strings.Index(e.Error, "request id ")
	if i < 0 {
		t.Fatalf("no request id in %q", e.Error)
	}
	id := strings.Fields(e.Error[i+len("request id "):])[0]
	if !strings.Contains(logged.String(), "request_id="+id) || !strings.Contains(logged.String(), "eventstore") {
		t.Errorf("the log has no line with request id %s and the cause:\n%s", id, logged.String())
	}
	if code != http.StatusInternalServerError {
		t.Logf("answered %d", code)
	}
}
