package aggregatehttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
	"github.com/rewindhq/rewind/aggregate/aggregatehttp/internal/testcart"
	"github.com/rewindhq/rewind/eventstore"
)

// clock is a store clock the test moves by hand, so that events have
// store times a test can name.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// set moves the clock to t.
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// t0 is the store time of the first seeded event.
var t0 = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)

// server is a store, the carts' repository, and the registry's handler on
// a loopback HTTP server.
type server struct {
	store *eventstore.Store
	repo  *aggregate.Repository[testcart.Cart, testcart.Event]
	clock *clock
	reg   *aggregatehttp.Registry
	url   string
}

// decide turns a command with a Decide method into NewCommand's decide.
func decide[C interface {
	Decide(testcart.Cart) ([]testcart.Event, error)
}](c C) func(testcart.Cart) ([]testcart.Event, error) {
	return c.Decide
}

func newServer(t *testing.T) *server {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: t0}
	store, err := eventstore.Open(ctx, t.TempDir(), eventstore.WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	repo, err := aggregate.NewRepository(store, testcart.Definition())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	reg := aggregatehttp.NewRegistry(store)
	err = aggregatehttp.Register(reg, repo,
		aggregatehttp.NewCommand("Open", decide[testcart.Open]),
		aggregatehttp.NewCommand("AddItem", decide[testcart.AddItem]),
		aggregatehttp.NewCommand("RemoveItem", decide[testcart.RemoveItem]),
		aggregatehttp.NewCommand("Tag", decide[testcart.Tag]),
		aggregatehttp.NewCommand("SetAddress", decide[testcart.SetAddress]),
		aggregatehttp.NewCommand("CheckOut", decide[testcart.CheckOut]),
	)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", reg.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &server{store: store, repo: repo, clock: clk, reg: reg, url: srv.URL}
}

// do sends a request and returns the status and body.
func (s *server) do(t *testing.T, method, path string, body string, header ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// get sends a GET, wants code and decodes the answer into v (if not nil).
func (s *server) get(t *testing.T, path string, code int, v any) []byte {
	t.Helper()
	got, body := s.do(t, http.MethodGet, path, "")
	if got != code {
		t.Fatalf("GET %s: %d %s, want %d", path, got, body, code)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, body)
		}
	}
	return body
}

// command posts a command, wants 200 and returns its result.
func (s *server) command(t *testing.T, id, body string, header ...string) aggregatehttp.CommandResult {
	t.Helper()
	code, b := s.do(t, http.MethodPost, "/v1/commands/carts/"+id, body, header...)
	if code != http.StatusOK {
		t.Fatalf("POST %s %s: %d %s", id, body, code, b)
	}
	var res aggregatehttp.CommandResult
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return res
}

// at moves the clock to t0 plus d and posts a command.
func (s *server) commandAt(t *testing.T, d time.Duration, id, body string) aggregatehttp.CommandResult {
	t.Helper()
	s.clock.set(t0.Add(d))
	return s.command(t, id, body)
}

// seed gives cart id a history of eight events, an hour apart from t0:
//
//	1 Opened ann; 2 ItemAdded sku-1 x2; 3 ItemAdded sku-2 x1; 4 Tagged a b;
//	5 AddressSet Paris; 6 ItemAdded sku-1 x3 at a new price;
//	7 ItemRemoved sku-2; 8 Tagged c
func (s *server) seed(t *testing.T, id string) {
	t.Helper()
	for i, body := range []string{
		`{"type":"Open","customer":"ann"}`,
		`{"type":"AddItem","sku":"sku-1","quantity":2,"price":150}`,
		`{"type":"AddItem","sku":"sku-2","quantity":1,"price":900}`,
		`{"type":"Tag","tags":["a","b"]}`,
		`{"type":"SetAddress","city":"Paris"}`,
		`{"type":"AddItem","sku":"sku-1","quantity":3,"price":140}`,
		`{"type":"RemoveItem","sku":"sku-2"}`,
		`{"type":"Tag","tags":["c"]}`,
	} {
		s.commandAt(t, time.Duration(i)*time.Hour, id, body)
	}
}

// head returns the head of cart id's stream.
func (s *server) head(t *testing.T, id string) eventstore.Head {
	t.Helper()
	h, err := s.store.Head(context.Background(), "carts/"+id+"/events")
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// errorOf decodes an error answer's reason.
func errorOf(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Fatalf("not an error answer: %s", body)
	}
	return e.Error
}

// compact re-encodes JSON without spaces, for comparisons.
func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return buf.String()
}

// changes writes a list of changes as "path: from → to" lines.
func changes(cs []aggregatehttp.Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.Path + ": " + string(c.From) + " → " + string(c.To) + "\n")
	}
	return b.String()
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// collectEvents reads a stream from the store.
func collectEvents(s *server, stream string) ([]eventstore.Event, error) {
	var out []eventstore.Event
	for e, err := range s.store.Read(context.Background(), stream) {
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// httpGet gets url and closes the body.
func httpGet(url string) (*http.Response, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// readBody reads and closes a response's body.
func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
