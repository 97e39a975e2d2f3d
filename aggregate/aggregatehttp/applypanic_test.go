package aggregatehttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
	"github.com/rewindhq/rewind/eventstore"
)

type dial struct{ N int }

type dialEvent interface{ isDialEvent() }

type dialSet struct{ N int }

func (dialSet) isDialEvent() {}

type setDial struct {
	N int `json:"n"`
}

func (c setDial) decide(dial) ([]dialEvent, error) { return []dialEvent{dialSet{N: c.N}}, nil }

// TestApplyPanicIsAServerError: an apply function that panics on a
// stored event makes every view that reaches the event a 500 with a
// request id, never a dropped connection, and the views before it still
// answer.
func TestApplyPanicIsAServerError(t *testing.T) {
	ctx := context.Background()
	store, err := eventstore.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	d := aggregate.Define[dial, dialEvent]("dials", dial{})
	aggregate.On(d, "DialSet", func(s dial, e dialSet) dial {
		if e.N == 13 {
			panic("unlucky")
		}
		s.N = e.N
		return s
	})
	repo, err := aggregate.NewRepository(store, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	reg := aggregatehttp.NewRegistry(store)
	if err := aggregatehttp.Register(reg, repo, aggregatehttp.NewCommand("SetDial", func(c setDial) func(dial) ([]dialEvent, error) { return c.decide })); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg.Handler())
	t.Cleanup(srv.Close)
	s := &server{store: store, url: srv.URL}

	for _, n := range []string{"1", "2"} {
		if code, body := s.do(t, http.MethodPost, "/v1/commands/dials/d1", `{"type":"SetDial","n":`+n+`}`); code != http.StatusOK {
			t.Fatalf("SetDial %s: %d %s", n, code, body)
		}
	}
	if code, body := s.do(t, http.MethodPost, "/v1/commands/dials/d1", `{"type":"SetDial","n":13}`); code != http.StatusInternalServerError || !strings.Contains(string(body), "request id") {
		t.Fatalf("SetDial 13: %d %s; want a 500 with a request id", code, body)
	}
	for _, path := range []string{"/v1/state/dials/d1", "/v1/state/dials/d1?version=3", "/v1/diff/dials/d1?from=1&to=3",
		"/v1/timeline/dials/d1", "/v1/export/dials/d1"} {
		code, body := s.do(t, http.MethodGet, path, "")
		if code != http.StatusInternalServerError || strings.Contains(string(body), "unlucky") {
			t.Errorf("GET %s: %d %s; want a 500 that does not carry the panic", path, code, body)
		}
	}
	if code, body := s.do(t, http.MethodGet, "/v1/state/dials/d1?version=2", ""); code != http.StatusOK || !strings.Contains(string(body), `"N":2`) {
		t.Errorf("the state at version 2: %d %s", code, body)
	}
}
