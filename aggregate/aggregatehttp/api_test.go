package aggregatehttp_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
)

// TestMethodNotAllowed: a known path asked with a method it does not take
// is a 405 naming the methods it takes, in the Allow header and the JSON
// reason, not a 404.
func TestMethodNotAllowed(t *testing.T) {
	s := newServer(t)
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodGet, "/v1/commands/carts/c1", "POST"},
		{http.MethodPut, "/v1/commands/carts/c1", "POST"},
		{http.MethodPost, "/v1/state/carts/c1", "GET, HEAD"},
		{http.MethodDelete, "/v1/streams", "GET, HEAD"},
		{http.MethodPost, "/v1/aggregates", "GET, HEAD"},
		{http.MethodPost, "/v1/", "GET, HEAD"},
	} {
		req, err := http.NewRequest(tc.method, s.url+tc.path, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != tc.allow ||
			!strings.Contains(errorOf(t, body), "takes "+tc.allow) {
			t.Errorf("%s %s: %d Allow %q %s, want 405 Allow %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), body, tc.allow)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
	}
}

// TestIndex: GET /v1/ lists the endpoints, each with its method, path and
// what it answers; an unknown path's 404 points to it.
func TestIndex(t *testing.T) {
	s := newServer(t)
	var idx aggregatehttp.Index
	s.get(t, "/v1/", http.StatusOK, &idx)
	seen := map[string]bool{}
	for _, e := range idx.Endpoints {
		if e.Method == "" || e.About == "" || !strings.HasPrefix(e.Path, "/v1/") {
			t.Errorf("endpoint %+v", e)
		}
		seen[e.Method+" "+strings.FieldsFunc(e.Path, func(r rune) bool { return r == '[' || r == '?' })[0]] = true
	}
	for _, want := range []string{"GET /v1/", "POST /v1/commands/<category>/<id>", "GET /v1/state/<category>/<id>",
		"GET /v1/timeline/<category>/<id>", "GET /v1/aggregates", "GET /v1/streams", "GET /v1/events"} {
		if !seen[want] {
			t.Errorf("the index lacks %s: %+v", want, idx.Endpoints)
		}
	}
	code, body := s.do(t, http.MethodGet, "/v1/nope", "")
	if code != http.StatusNotFound || !strings.Contains(errorOf(t, body), "GET /v1/ lists them") {
		t.Errorf("unknown path: %d %s", code, body)
	}
}

// TestErrorsAreNotHTMLEscaped: a reason with < and > reads as written,
// not as \u003c and \u003e.
func TestErrorsAreNotHTMLEscaped(t *testing.T) {
	s := newServer(t)
	code, body := s.do(t, http.MethodPost, "/v1/commands/carts/c1", `{"sku":"x"}`)
	if code != http.StatusBadRequest || !strings.Contains(string(body), `<Command>`) || strings.Contains(string(body), `\u003c`) {
		t.Errorf("%d %s, want a 400 with <Command> as written", code, body)
	}
}

// TestValidation: a command whose fields are invalid whatever the state
// (its Validate method's error) is a 400 with Validate's reason, where
// the same command refused by an invariant is a 409; nothing is stored or
// recorded under its Idempotency-Key.
func TestValidation(t *testing.T) {
	s := newServer(t)
	s.command(t, "v1", `{"type":"Open","customer":"ann"}`)
	head := s.head(t, "v1")
	for _, body := range []string{
		`{"type":"AddItem","sku":"x","quantity":0,"price":5}`,
		`{"type":"AddItem","sku":"x","quantity":-3,"price":5}`,
	} {
		code, b := s.do(t, http.MethodPost, "/v1/commands/carts/v1", body, "Idempotency-Key", "k-v")
		if code != http.StatusBadRequest || errorOf(t, b) != "the quantity must be positive" {
			t.Errorf("%s: %d %s, want 400 with the quantity's reason", body, code, b)
		}
	}
	if h := s.head(t, "v1"); h != head {
		t.Errorf("an invalid command stored something: %+v → %+v", head, h)
	}
	// The key was not recorded with the invalid command: a valid one
	// under it is handled.
	res := s.command(t, "v1", `{"type":"AddItem","sku":"x","quantity":1,"price":5}`, "Idempotency-Key", "k-v")
	if res.Duplicate || res.Version != 2 {
		t.Errorf("the valid command under the key: %+v", res)
	}
	// An invariant is still a 409.
	code, b := s.do(t, http.MethodPost, "/v1/commands/carts/v2", `{"type":"AddItem","sku":"x","quantity":1,"price":5}`)
	if code != http.StatusConflict {
		t.Errorf("invariant: %d %s, want 409", code, b)
	}
}

// TestAnswersWriteHTMLCharactersAsTheyAre: a state, a diff's changes, a
// timeline's events and the events of /v1/events carry "<", ">" and "&"
// as they are, as the package doc says, not as \u003c escapes.
func TestAnswersWriteHTMLCharactersAsTheyAre(t *testing.T) {
	s := newServer(t)
	s.command(t, "h1", `{"type":"Open","customer":"<ada> & co"}`)
	s.command(t, "h1", `{"type":"Tag","tags":["a<b"]}`)
	for _, path := range []string{"/v1/state/carts/h1", "/v1/diff/carts/h1?from=0&to=2", "/v1/timeline/carts/h1",
		"/v1/events?stream=carts/h1/events"} {
		body := string(s.get(t, path, http.StatusOK, nil))
		if strings.Contains(body, `\u003c`) || strings.Contains(body, `\u0026`) || !strings.Contains(body, `<ada> & co`) {
			t.Errorf("GET %s: %s; want <ada> & co as it is", path, body)
		}
	}
}
