package durablestreams

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/eventstore/access"
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

// A request of any method reaches the authorizer; when it fails, the log
// line names a made-up method "other", not the kilobytes a client sent.
func TestAuthorizerFailureLogsAKnownMethod(t *testing.T) {
	var logged bytes.Buffer
	h := &Handler{cfg: config{
		log:    slog.New(slog.NewTextHandler(&logged, nil)),
		prefix: "/v1/stream/",
		auth: access.AuthorizerFunc(func(*http.Request, access.Op) error {
			return errors.New("the key set is unreachable")
		}),
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.authorize(w, r, "a") }))
	defer srv.Close()
	method := strings.Repeat("X", 4096)
	req, err := http.NewRequest(method, srv.URL+"/v1/stream/a", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", resp.StatusCode)
	}
	if l := logged.String(); !strings.Contains(l, "method=other") || strings.Contains(l, method[:64]) {
		t.Errorf("log line %.200q, want method=other", l)
	}
}
