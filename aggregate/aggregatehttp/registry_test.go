package aggregatehttp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
	"github.com/rewindhq/rewind/aggregate/aggregatehttp/internal/testcart"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/access"
)

// TestRegisterErrors: registrations that cannot work are refused with
// ErrRegister; two registries are independent.
func TestRegisterErrors(t *testing.T) {
	store, err := eventstore.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	repo, err := aggregate.NewRepository(store, testcart.Definition())
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	open := aggregatehttp.NewCommand("Open", decide[testcart.Open])
	if got := open.Name(); got != "Open" {
		t.Errorf("Name() = %q", got)
	}
	reg := aggregatehttp.NewRegistry(store)
	for name, err := range map[string]error{
		"nil repository":  aggregatehttp.Register[testcart.Cart, testcart.Event](reg, nil),
		"nil registry":    aggregatehttp.Register(nil, repo),
		"no name":         aggregatehttp.Register(reg, repo, aggregatehttp.Command[testcart.Cart, testcart.Event]{}),
		"a command twice": aggregatehttp.Register(reg, repo, open, open),
		"empty name":      aggregatehttp.Register(reg, repo, aggregatehttp.NewCommand("", decide[testcart.Open])),
		"no decide":       aggregatehttp.Register(reg, repo, aggregatehttp.NewCommand[testcart.Cart, testcart.Event, testcart.Open]("Open", nil)),
	} {
		if !errors.Is(err, aggregatehttp.ErrRegister) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := aggregatehttp.Register(reg, repo, open); err != nil {
		t.Fatal(err)
	}
	if err := aggregatehttp.Register(reg, repo, open); !errors.Is(err, aggregatehttp.ErrRegister) {
		t.Errorf("a category twice: %v", err)
	}
	if err := aggregatehttp.Register(aggregatehttp.NewRegistry(store), repo, open); err != nil {
		t.Errorf("another registry: %v", err)
	}
}

// panicky is a command whose decide function panics when it builds the
// decider (Boom) or whose Validate panics (Bad).
type panicky struct {
	Boom bool `json:"boom,omitempty"`
	Bad  bool `json:"bad,omitempty"`
}

func (p panicky) Validate() error {
	if p.Bad {
		var m map[string]int
		m["x"]++
	}
	return nil
}

// TestCommandCodePanics: a command's own code that panics outside the
// decider (the decide function building it, Validate) is answered as a
// decider's panic is, a 500 saying to retry and report a request id, with
// nothing stored; the connection is not dropped without an answer.
func TestCommandCodePanics(t *testing.T) {
	s := newServer(t)
	reg := aggregatehttp.NewRegistry(s.store)
	err := aggregatehttp.Register(reg, s.repo, aggregatehttp.NewCommand("Panicky", func(p panicky) func(testcart.Cart) ([]testcart.Event, error) {
		if p.Boom {
			panic("index out of range")
		}
		return func(testcart.Cart) ([]testcart.Event, error) { return nil, nil }
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg.Handler())
	defer srv.Close()
	for _, body := range []string{`{"type":"Panicky","boom":true}`, `{"type":"Panicky","bad":true}`} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/commands/carts/p1", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v (no answer)", body, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(b), "request id") {
			t.Errorf("%s: %d %s, want a 500 with a request id", body, resp.StatusCode, b)
		}
	}
}

// TestNilHandlerOption: a nil HandlerOption is ignored, as the store's
// options are; the authorizer given beside it still decides.
func TestNilHandlerOption(t *testing.T) {
	s := newServer(t)
	deny := access.AuthorizerFunc(func(*http.Request, access.Op) error {
		return &access.UnauthenticatedError{Reason: "no credential"}
	})
	srv := httptest.NewServer(s.reg.Handler(nil, aggregatehttp.WithAuthorizer(deny), nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/state/carts/c1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET behind an authorizer that refuses all: %d, want 401", resp.StatusCode)
	}
}
