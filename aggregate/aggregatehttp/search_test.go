package aggregatehttp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/access"
)

// searchAll follows a search's cursor to the category's end and returns
// every event found, with how many requests it took.
func searchAll(t *testing.T, s *server, query string) ([]aggregatehttp.StoredEvent, int) {
	t.Helper()
	var found []aggregatehttp.StoredEvent
	cursor := ""
	for n := 1; ; n++ {
		var res aggregatehttp.SearchResult
		s.get(t, "/v1/search?"+query+"&cursor="+cursor, 200, &res)
		found = append(found, res.Events...)
		if res.End {
			return found, n
		}
		if res.Cursor == cursor || n > 100 {
			t.Fatalf("the cursor does not move: %+v", res)
		}
		cursor = res.Cursor
	}
}

// TestSearch: a search within a category finds the events of every
// stream in it that match by type, by a field's value at a JSON path, by
// event id and by command id (the Idempotency-Key), all filters given
// holding; limit pages it and the cursor goes on from where a page ended.
func TestSearch(t *testing.T) {
	s := newServer(t)
	s.seed(t, "c1")
	s.seed(t, "c2")
	s.command(t, "c3", `{"type":"Open","customer":"cy"}`, "Idempotency-Key", "open-c3")
	stored, err := collectEvents(s, "carts/c2/events")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query string
		want  []string // stream@version
	}{
		{"category=carts&type=Opened", []string{"carts/c1/events@1", "carts/c2/events@1", "carts/c3/events@1"}},
		{"category=carts&type=ItemAdded&field=sku&value=sku-2", []string{"carts/c1/events@3", "carts/c2/events@3"}},
		{"category=carts&field=quantity&value=3", []string{"carts/c1/events@6", "carts/c2/events@6"}},
		{"category=carts&field=tags.0&value=%22c%22", []string{"carts/c1/events@8", "carts/c2/events@8"}},
		{"category=carts&field=customer&value=cy", []string{"carts/c3/events@1"}},
		{"category=carts&eventId=" + stored[4].ID.String(), []string{"carts/c2/events@5"}},
		{"category=carts&eventId=" + strings.ToUpper(stored[4].ID.String()), []string{"carts/c2/events@5"}},
		{"category=carts&commandId=open-c3", []string{"carts/c3/events@1"}},
		{"category=carts&commandId=open-c3&type=Tagged", nil},
		{"category=carts&type=Nothing", nil},
		{"category=boats&type=Opened", nil},
	} {
		for _, limit := range []string{"1", "500"} {
			found, requests := searchAll(t, s, tc.query+"&limit="+limit)
			var got []string
			for _, e := range found {
				got = append(got, e.Stream+"@"+itoa(e.Version))
				if e.ID == "" || e.Metadata == nil || e.Offset == "" {
					t.Errorf("%s: event without its details: %+v", tc.query, e)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("%s limit %s: %v, want %v", tc.query, limit, got, tc.want)
			}
			if limit == "1" && requests < len(tc.want) {
				t.Errorf("%s: %d requests with limit 1 for %d events", tc.query, requests, len(tc.want))
			}
		}
	}
}

// TestSearchEventIDLooksUp: a search with an event id is answered from
// the store's event-id index in one request that looks at that one event,
// not by a scan of the category; the category, the cursor and the other
// filters still hold.
func TestSearchEventIDLooksUp(t *testing.T) {
	s := newServer(t)
	s.seed(t, "c1")
	s.seed(t, "c2")
	stored, err := collectEvents(s, "carts/c2/events")
	if err != nil {
		t.Fatal(err)
	}
	id := stored[4].ID.String()
	var res aggregatehttp.SearchResult
	s.get(t, "/v1/search?category=carts&eventId="+id, 200, &res)
	if len(res.Events) != 1 || res.Events[0].ID != id || res.Events[0].Version != 5 || !res.End || res.Scanned != 1 {
		t.Fatalf("search by event id: %+v; want the event, in one answer that looked at one event", res)
	}
	for query, why := range map[string]string{
		"category=boats&eventId=" + id:                                         "another category",
		"category=carts&type=Opened&eventId=" + id:                             "another type",
		"category=carts&eventId=" + id + "&cursor=" + string(stored[4].Offset): "a cursor at the event",
		"category=carts&eventId=0193a5c0-0000-7000-8000-000000000042":          "an id no event has",
	} {
		var res aggregatehttp.SearchResult
		s.get(t, "/v1/search?"+query, 200, &res)
		if len(res.Events) != 0 || !res.End || res.Cursor == "" {
			t.Errorf("%s (%s): %+v; want nothing, the answer whole", query, why, res)
		}
	}
	s.get(t, "/v1/search?category=carts&eventId="+id+"&cursor="+string(stored[3].Offset), 200, &res)
	if len(res.Events) != 1 || res.Events[0].ID != id {
		t.Fatalf("search by event id from a cursor before it: %+v", res)
	}
}

// TestSearchBadInput: each bad query is a 400 with a reason.
func TestSearchBadInput(t *testing.T) {
	s := newServer(t)
	s.seed(t, "c1")
	for q, reason := range map[string]string{
		"type=Opened":                                      "give category=",
		"category=carts/c1&type=Opened":                    "one segment",
		"category=carts":                                   "give at least one of",
		"category=carts&eventId=nope":                      `eventId="nope" is not a UUID`,
		"category=carts&value=3":                           "value= needs field=",
		"category=carts&field=a..b&value=1":                "is not a JSON path",
		"category=carts&type=T&cursor=x":                   `cursor="x" is not a cursor`,
		"category=carts&type=T&limit=0":                    `limit="0" is not a number from 1 to 500`,
		"category=carts&type=T&limit=501":                  `limit="501"`,
		"category=carts&type=A&type=B":                     "give type once",
		"category=carts&type=" + strings.Repeat("x", 1025): "type is over 1024 bytes",
	} {
		code, body := s.do(t, http.MethodGet, "/v1/search?"+q, "")
		if code != http.StatusBadRequest || !strings.Contains(errorOf(t, body), reason) {
			t.Errorf("%s: %d %s, want 400 with %q", q, code, body, reason)
		}
	}
}

// TestNewEndpointsAuthorized: the index, the timeline and the search are
// put to the Authorizer as reads of what they read (the search of its
// category), and a refusal is the Authorizer's 403.
func TestNewEndpointsAuthorized(t *testing.T) {
	s := newServer(t)
	s.seed(t, "c1")
	var mu sync.Mutex
	var asked []string
	auth := access.AuthorizerFunc(func(r *http.Request, op access.Op) error {
		mu.Lock()
		asked = append(asked, string(op.Action)+" "+op.Resource)
		mu.Unlock()
		if op.Resource == "carts" || op.Resource == "carts/c1/events" {
			return &access.ForbiddenError{Reason: "not yours"}
		}
		return nil
	})
	reg := aggregatehttp.NewRegistry(s.store)
	if err := aggregatehttp.Register(reg, s.repo); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(reg.Handler(aggregatehttp.WithAuthorizer(auth)))
	defer srv.Close()
	for _, path := range []string{"/v1/search?category=carts&type=Opened", "/v1/timeline/carts/c1?axis=true"} {
		resp, err := httpGet(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s: %d, want 403", path, resp.StatusCode)
		}
	}
	resp, err := httpGet(srv.URL + "/v1/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/: %v %v", resp, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(asked, ","); got != "read carts,read carts/c1/events,read " {
		t.Errorf("asked %s", got)
	}
}

// TestSearchValuesCompareAsJSON: a search's value and an event's compare
// as JSON values, however either is written: a string with "&", "<" or
// ">" given quoted or not, a \u escape, a number in another notation.
// And an event of the stream named as its category is found by its id,
// as the scan finds it.
func TestSearchValuesCompareAsJSON(t *testing.T) {
	s := newServer(t)
	s.command(t, "c1", `{"type":"Open","customer":"R&D <x>"}`)
	s.command(t, "c2", `{"type":"Open","customer":"café"}`)
	s.command(t, "c2", `{"type":"AddItem","sku":"s","quantity":100,"price":1}`)
	for _, tc := range []struct{ field, value, want string }{
		{"customer", `R&D <x>`, "carts/c1/events@1"},
		{"customer", `"R&D <x>"`, "carts/c1/events@1"},
		{"customer", `"R\u0026D \u003cx\u003e"`, "carts/c1/events@1"},
		{"customer", `"caf\u00e9"`, "carts/c2/events@1"},
		{"customer", `café`, "carts/c2/events@1"},
		{"quantity", `1e2`, "carts/c2/events@2"},
		{"quantity", `100.0`, "carts/c2/events@2"},
		{"quantity", `100`, "carts/c2/events@2"},
	} {
		found, _ := searchAll(t, s, "category=carts&field="+tc.field+"&value="+url.QueryEscape(tc.value))
		if len(found) != 1 || found[0].Stream+"@"+itoa(found[0].Version) != tc.want {
			t.Errorf("field=%s value=%s: %+v, want %s", tc.field, tc.value, found, tc.want)
		}
	}
	res, err := s.store.Append(context.Background(), "carts", []eventstore.Event{{Type: "Opened", Data: []byte(`{"customer":"z"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for e, err := range s.store.Read(context.Background(), "carts") {
		if err != nil {
			t.Fatal(err)
		}
		id = e.ID.String()
	}
	found, _ := searchAll(t, s, "category=carts&eventId="+id)
	if len(found) != 1 || found[0].Stream != "carts" || found[0].Offset != string(res.Offset()) {
		t.Errorf("eventId of the stream named as its category: %+v", found)
	}
}
