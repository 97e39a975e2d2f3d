package durablestreams_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/durablestreams"
)

// quietLog drops the store's and handler's logs: a test that expects an
// error says so itself.
var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// openStore opens a real embedded store in dir, closed when the test ends.
func openStore(t testing.TB, dir string) *eventstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, err := eventstore.Open(ctx, dir, eventstore.WithLogger(quietLog))
	if err != nil {
		t.Fatalf("open the store: %v", err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("close the store: %v", err)
		}
	})
	return store
}

// server serves a Handler on store over real HTTP on loopback, the way
// rewind serve mounts it.
type server struct {
	t       testing.TB
	store   *eventstore.Store
	handler *durablestreams.Handler
	http    *httptest.Server
}

func newServer(t testing.TB, store *eventstore.Store, opts ...durablestreams.Option) *server {
	t.Helper()
	opts = append([]durablestreams.Option{durablestreams.WithLogger(quietLog)}, opts...)
	h := durablestreams.New(store, opts...)
	mux := http.NewServeMux()
	mux.Handle("/v1/stream/", h)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		h.Shutdown()
		hs.Close()
	})
	return &server{t: t, store: store, handler: h, http: hs}
}

// url is the URL of a stream.
func (s *server) url(name string) string { return s.http.URL + "/v1/stream/" + name }

// reply is a response, read whole.
type reply struct {
	code   int
	header http.Header
	body   []byte
}

func (r reply) get(k string) string { return r.header.Get(k) }

// do sends one request to a stream (path and query after /v1/stream/)
// with the headers given as "Key", "value" pairs.
func (s *server) do(method, pathAndQuery string, body []byte, kv ...string) reply {
	s.t.Helper()
	return doURL(s.t, method, s.url(pathAndQuery), body, kv...)
}

func doURL(t testing.TB, method, url string, body []byte, kv ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the body: %v", method, url, err)
	}
	return reply{code: resp.StatusCode, header: resp.Header, body: b}
}

// must checks a reply's status.
func (r reply) must(t testing.TB, code int, what string) reply {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: status %d, want %d (body %q)", what, r.code, code, truncate(r.body))
	}
	return r
}

func truncate(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// checkReason checks that a refusal carries a short plain-text reason.
func checkReason(t testing.TB, what string, r reply) {
	t.Helper()
	if r.code < 400 {
		return
	}
	if ct := r.get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("%s: %d with Content-Type %q, want text/plain", what, r.code, ct)
	}
	if reason := strings.TrimSpace(string(r.body)); reason == "" || len(reason) > 300 {
		t.Errorf("%s: %d with reason %q, want a short non-empty one", what, r.code, truncate(r.body))
	}
}

// events reads a stream whole through the Go API.
func events(t testing.TB, store *eventstore.Store, name string, opts ...eventstore.ReadOption) []eventstore.Event {
	t.Helper()
	var out []eventstore.Event
	for e, err := range store.Read(context.Background(), name, opts...) {
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		out = append(out, e)
	}
	return out
}

func head(t testing.TB, store *eventstore.Store, name string) eventstore.Head {
	t.Helper()
	h, err := store.Head(context.Background(), name)
	if err != nil {
		t.Fatalf("head of %s: %v", name, err)
	}
	h.StoredAt = time.Time{} // compare positions, not the clock's reading
	return h
}
