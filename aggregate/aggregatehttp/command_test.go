package aggregatehttp_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// TestCommand: a command's answer carries the new version, the offset of
// its last event (the stream's head) and its events, each with its store
// time, data and the fields of the state it changed.
func TestCommand(t *testing.T) {
	s := newServer(t)
	res := s.command(t, "c1", `{"type":"Open","customer":"ann"}`)
	h := s.head(t, "c1")
	if res.Version != 1 || res.Offset != string(h.Offset) || res.Duplicate || len(res.Events) != 1 {
		t.Fatalf("answer %+v, head %+v", res, h)
	}
	e := res.Events[0]
	if e.Version != 1 || e.Type != "Opened" || e.Offset != string(h.Offset) || e.StoredAt != "2026-03-02T09:00:00Z" ||
		compact(t, e.Data) != `{"customer":"ann"}` {
		t.Errorf("event %+v", e)
	}
	if got, want := changes(e.Changes), "customer: null → \"ann\"\nstatus: null → \"open\"\n"; got != want {
		t.Errorf("changes:\n%s\nwant:\n%s", got, want)
	}
	res = s.command(t, "c1", `{"type":"AddItem","sku":"sku-1","quantity":2,"price":150}`)
	if res.Version != 2 || len(res.Events) != 1 || res.Events[0].Version != 2 {
		t.Fatalf("answer %+v", res)
	}
	if got, want := changes(res.Events[0].Changes), "items: null → {\"sku-1\":{\"price\":150,\"quantity\":2}}\n"; got != want {
		t.Errorf("changes:\n%s\nwant:\n%s", got, want)
	}
}

// TestCommandNothingToDo: a decider that decides nothing stores nothing;
// the answer is the stream's version and head, with no events.
func TestCommandNothingToDo(t *testing.T) {
	s := newServer(t)
	s.command(t, "c1", `{"type":"Open","customer":"ann"}`)
	s.command(t, "c1", `{"type":"Tag","tags":["a"]}`)
	before := s.head(t, "c1")
	res := s.command(t, "c1", `{"type":"Tag","tags":["a"]}`)
	if res.Version != 2 || res.Offset != string(before.Offset) || len(res.Events) != 0 || res.Duplicate {
		t.Errorf("answer %+v, head %+v", res, before)
	}
	if h := s.head(t, "c1"); h != before {
		t.Errorf("head moved: %+v → %+v", before, h)
	}
}

// TestCommandIdempotency: a retry with the same Idempotency-Key and the
// same command (whatever its whitespace or key order) gets the same answer
// with duplicate true, even after other commands, and stores nothing;
// another command under the key is a 422 and decides nothing; concurrent
// retries store the command once.
func TestCommandIdempotency(t *testing.T) {
	s := newServer(t)
	s.command(t, "c1", `{"type":"Open","customer":"ann"}`)
	add := `{"type":"AddItem","sku":"sku-1","quantity":2,"price":150}`
	first := s.command(t, "c1", add, "Idempotency-Key", "k-1")
	if first.Duplicate || first.Version != 2 {
		t.Fatalf("first: %+v", first)
	}
	head := s.head(t, "c1")
	for _, body := range []string{add, `{ "price":150, "quantity":2, "sku":"sku-1", "type":"AddItem" }`} {
		again := s.command(t, "c1", body, "Idempotency-Key", "k-1")
		if !again.Duplicate {
			t.Errorf("retry not a duplicate: %+v", again)
		}
		again.Duplicate = false
		if !reflect.DeepEqual(again, first) {
			t.Errorf("retry answered\n%+v\nwant\n%+v", again, first)
		}
		if h := s.head(t, "c1"); h != head {
			t.Errorf("a retry stored something: head %+v → %+v", head, h)
		}
	}
	// The IETF Idempotency-Key draft: a key reused for another request is
	// a 422, whatever the command.
	for _, body := range []string{`{"type":"AddItem","sku":"other","quantity":9,"price":1}`, `{"type":"Tag","tags":["q"]}`} {
		code, b := s.do(t, http.MethodPost, "/v1/commands/carts/c1", body, "Idempotency-Key", "k-1")
		if code != http.StatusUnprocessableEntity || !strings.Contains(errorOf(t, b), "used for a different request") {
			t.Errorf("key reused for %s: %d %s, want 422", body, code, b)
		}
		if h := s.head(t, "c1"); h != head {
			t.Errorf("a reused key stored something: head %+v → %+v", head, h)
		}
	}
	// After another command the retry is still the original answer.
	s.command(t, "c1", `{"type":"Tag","tags":["x"]}`)
	head = s.head(t, "c1")
	again := s.command(t, "c1", add, "Idempotency-Key", "k-1")
	if !again.Duplicate || again.Version != 2 || again.Offset != first.Offset {
		t.Errorf("late retry: %+v", again)
	}
	if h := s.head(t, "c1"); h != head {
		t.Errorf("a late retry stored something: head %+v → %+v", head, h)
	}

	// Eight at once with one key: one is stored, all get its answer.
	var wg sync.WaitGroup
	answers := make([][]byte, 8)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, b := s.do(t, http.MethodPost, "/v1/commands/carts/c1", `{"type":"AddItem","sku":"sku-9","quantity":1,"price":5}`, "Idempotency-Key", "k-race")
			if code != http.StatusOK {
				t.Errorf("%d %s", code, b)
			}
			answers[i] = b
		}()
	}
	wg.Wait()
	dups := 0
	var version uint64
	for _, b := range answers {
		var res struct {
			Version   uint64 `json:"version"`
			Duplicate bool   `json:"duplicate"`
		}
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		if res.Duplicate {
			dups++
		}
		if version != 0 && res.Version != version {
			t.Errorf("answers of different versions: %d and %d", version, res.Version)
		}
		version = res.Version
	}
	if dups != 7 || s.head(t, "c1").Version != head.Version+1 {
		t.Errorf("%d duplicates of 8, head %d (was %d)", dups, s.head(t, "c1").Version, head.Version)
	}
}

// TestCommandErrors: each bad request gets its code and a reason a reader
// understands, and stores nothing.
func TestCommandErrors(t *testing.T) {
	s := newServer(t)
	s.command(t, "c1", `{"type":"Open","customer":"ann"}`)
	head := s.head(t, "c1")
	for _, tc := range []struct {
		name, path, body string
		header           []string
		code             int
		reason           string
	}{
		{"invariant", "c1", `{"type":"CheckOut"}`, nil, http.StatusConflict, "an empty cart cannot be checked out"},
		{"invariant on a new instance", "c2", `{"type":"AddItem","sku":"x","quantity":1,"price":1}`, nil, http.StatusConflict, "the cart is not open"},
		{"bad JSON", "c1", `{"type":"AddItem",`, nil, http.StatusBadRequest, "not a JSON object"},
		{"not an object", "c1", `["AddItem"]`, nil, http.StatusBadRequest, "not a JSON object"},
		{"null", "c1", `null`, nil, http.StatusBadRequest, "not a JSON object"},
		{"two values", "c1", `{"type":"Tag"} {}`, nil, http.StatusBadRequest, "more than one JSON value"},
		{"no type", "c1", `{"sku":"x"}`, nil, http.StatusBadRequest, `no "type"`},
		{"type not a string", "c1", `{"type":7}`, nil, http.StatusBadRequest, `"type" must be`},
		{"unknown field", "c1", `{"type":"AddItem","sku":"x","quantity":1,"colour":"red"}`, nil, http.StatusBadRequest, `unknown field "colour"`},
		{"wrong field type", "c1", `{"type":"AddItem","sku":"x","quantity":"two","price":1}`, nil, http.StatusBadRequest, `field "quantity": a JSON string where an integer was expected`},
		{"missing field", "c1", `{"type":"AddItem","sku":"x","price":1}`, nil, http.StatusBadRequest, `field "quantity" is required`},
		{"null field", "c1", `{"type":"AddItem","sku":"x","quantity":null,"price":1}`, nil, http.StatusBadRequest, `field "quantity" is required`},
		{"missing fields", "c1", `{"type":"AddItem","sku":"x"}`, nil, http.StatusBadRequest, `fields "quantity", "price" are required`},
		{"unknown command", "c1", `{"type":"Fly"}`, nil, http.StatusNotFound, `carts has no command "Fly"`},
		{"bad id", "a%2Fb", `{"type":"Open","customer":"bob"}`, nil, http.StatusBadRequest, `invalid id "a/b"`},
		{"long key", "c1", `{"type":"Tag","tags":["z"]}`, []string{"Idempotency-Key", strings.Repeat("k", 1025)}, http.StatusBadRequest, "Idempotency-Key is over 1024 bytes"},
		{"empty key", "c1", `{"type":"Tag","tags":["z"]}`, []string{"Idempotency-Key", ""}, http.StatusBadRequest, "Idempotency-Key is empty"},
		{"two keys", "c1", `{"type":"Tag","tags":["z"]}`, []string{"Idempotency-Key", "a", "Idempotency-Key", "b"}, http.StatusBadRequest, "one Idempotency-Key"},
		{"too large", "c1", `{"type":"Tag","tags":["` + strings.Repeat("t", 1<<20) + `"]}`, nil, http.StatusRequestEntityTooLarge, "over 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := s.do(t, http.MethodPost, "/v1/commands/carts/"+tc.path, tc.body, tc.header...)
			if code != tc.code || !strings.Contains(errorOf(t, body), tc.reason) {
				t.Errorf("%d %s, want %d with %q", code, body, tc.code, tc.reason)
			}
		})
	}
	if h := s.head(t, "c1"); h != head {
		t.Errorf("a refused command stored something: %+v → %+v", head, h)
	}
	if h := s.head(t, "c2"); h.Version != 0 {
		t.Errorf("c2 has %d events", h.Version)
	}
	code, body := s.do(t, http.MethodPost, "/v1/commands/boats/b1", `{"type":"Sail"}`)
	if code != http.StatusNotFound || !strings.Contains(errorOf(t, body), `no aggregate type "boats"`) {
		t.Errorf("unknown category: %d %s", code, body)
	}
	code, body = s.do(t, http.MethodGet, "/v1/nothing-here", "")
	if code != http.StatusNotFound || !strings.Contains(errorOf(t, body), "no endpoint GET /v1/nothing-here") {
		t.Errorf("unknown path: %d %s", code, body)
	}
}

// TestCommandIdempotencyRefusal: a key whose command was refused is
// refused again with the same 409 and message after the state changed,
// and one whose command decided nothing keeps that answer: neither runs
// again.
func TestCommandIdempotencyRefusal(t *testing.T) {
	s := newServer(t)
	add := `{"type":"AddItem","sku":"sku-1","quantity":1,"price":5}`
	code, b := s.do(t, http.MethodPost, "/v1/commands/carts/r1", add, "Idempotency-Key", "k-add")
	if code != http.StatusConflict || !strings.Contains(errorOf(t, b), "the cart is not open") {
		t.Fatalf("first: %d %s, want 409", code, b)
	}
	s.command(t, "r1", `{"type":"Open","customer":"ann"}`)
	s.command(t, "r1", `{"type":"Tag","tags":["a"]}`)
	nothing := s.command(t, "r1", `{"type":"Tag","tags":["a"]}`, "Idempotency-Key", "k-tag")
	if len(nothing.Events) != 0 || nothing.Duplicate {
		t.Fatalf("nothing to do: %+v", nothing)
	}
	head := s.head(t, "r1")
	if nothing.Offset != string(head.Offset) {
		t.Errorf("nothing to do answered offset %s, want the head's %s", nothing.Offset, head.Offset)
	}
	// Another event: the retry's answer is still the first one, offset
	// included (it was the stream's head at the retry).
	s.command(t, "r1", `{"type":"Tag","tags":["b"]}`)
	head = s.head(t, "r1")
	code, b = s.do(t, http.MethodPost, "/v1/commands/carts/r1", add, "Idempotency-Key", "k-add")
	if code != http.StatusConflict || !strings.Contains(errorOf(t, b), "the cart is not open") {
		t.Errorf("retry of the refused command on an open cart: %d %s, want the original 409", code, b)
	}
	again := s.command(t, "r1", `{"type":"Tag","tags":["a"]}`, "Idempotency-Key", "k-tag")
	if len(again.Events) != 0 || !again.Duplicate || again.Version != nothing.Version || again.Offset != nothing.Offset {
		t.Errorf("retry of the nothing-to-do command: %+v, want the first answer %+v", again, nothing)
	}
	if h := s.head(t, "r1"); h != head {
		t.Errorf("a retry stored something: head %+v → %+v", head, h)
	}
}

// TestCommandIdempotencyEscapes: over HTTP, a retry that spells a string
// another way ("caf\u00e9" for "café") or reorders keys is the duplicate
// of its first request, not a 422 "used for a different request".
func TestCommandIdempotencyEscapes(t *testing.T) {
	s := newServer(t)
	s.command(t, "c1", `{"type":"Open","customer":"ann"}`)
	first := s.command(t, "c1", `{"type":"Tag","tags":["café","a<b"]}`, "Idempotency-Key", "k-e")
	again := s.command(t, "c1", `{"tags":["caf\u00e9","a\u003cb"],"type":"Tag"}`, "Idempotency-Key", "k-e")
	if !again.Duplicate || again.Version != first.Version || again.Offset != first.Offset {
		t.Errorf("retry: %+v, want the duplicate of %+v", again, first)
	}
}
