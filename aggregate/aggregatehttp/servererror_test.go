package aggregatehttp_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
	"github.com/rewindhq/rewind/aggregate/aggregatehttp/internal/testcart"
	"github.com/rewindhq/rewind/eventstore"
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

// A command the store cannot take for want of storage is a 507 that says
// so, not a 500 or a 503 to retry.
func TestCommandOnAFullStore(t *testing.T) {
	ctx := context.Background()
	store, err := eventstore.Open(ctx, t.TempDir(), eventstore.WithStorageLimit(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blob := make([]byte, 64<<10)
	for i := 0; ; i++ {
		rand.Read(blob)
		_, err := store.Append(ctx, "filler/x", []eventstore.Event{{Type: "blob", Data: blob}})
		if errors.Is(err, eventstore.ErrStorageFull) {
			break
		}
		if err != nil || i > 100 {
			t.Fatalf("filling the store: %d appends, %v", i, err)
		}
	}
	repo, err := aggregate.NewRepository(store, testcart.Definition())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	reg := aggregatehttp.NewRegistry(store)
	if err := aggregatehttp.Register(reg, repo, aggregatehttp.NewCommand("Open", decide[testcart.Open])); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v1/commands/carts/c1", "application/json", strings.NewReader(`{"type":"Open","customer":"ann"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInsufficientStorage || !strings.Contains(string(body), "no storage left") {
		t.Errorf("a command on a full store: %d %s, want 507 saying there is no storage left", resp.StatusCode, body)
	}
}
