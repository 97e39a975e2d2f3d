package aggregatehttp_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
	"github.com/rewindhq/rewind/eventstore"
)

// TestAggregates lists the registered types with their commands, by name,
// each command's body and each event type's data as JSON Schema made from
// the Go types: a field is required unless its json tag says omitempty or
// omitzero, and no other field is allowed.
func TestAggregates(t *testing.T) {
	s := newServer(t)
	var got aggregatehttp.Aggregates
	s.get(t, "/v1/aggregates", 200, &got)
	if len(got.Aggregates) != 1 {
		t.Fatalf("%+v", got)
	}
	a := got.Aggregates[0]
	if a.Category != "carts" || strings.Join(a.Commands, ",") != "AddItem,CheckOut,Open,RemoveItem,SetAddress,Tag" {
		t.Errorf("%s %v", a.Category, a.Commands)
	}
	schemas := map[string]string{}
	for _, c := range a.CommandTypes {
		schemas[c.Name] = compact(t, c.Schema)
	}
	for name, want := range map[string]string{
		"AddItem":    `{"$schema":"https://json-schema.org/draft/2020-12/schema","properties":{"sku":{"type":"string"},"quantity":{"type":"integer"},"price":{"type":"integer"},"type":{"type":"string","const":"AddItem","description":"the command's name"}},"additionalProperties":false,"type":"object","required":["type","sku","quantity","price"]}`,
		"CheckOut":   `{"$schema":"https://json-schema.org/draft/2020-12/schema","properties":{"at":{"type":"string","format":"date-time"},"ratio":{"type":"number"},"extras":{"type":"object"},"type":{"type":"string","const":"CheckOut","description":"the command's name"}},"additionalProperties":false,"type":"object","required":["type"]}`,
		"SetAddress": `{"$schema":"https://json-schema.org/draft/2020-12/schema","properties":{"city":{"type":"string"},"zip":{"type":"string"},"type":{"type":"string","const":"SetAddress","description":"the command's name"}},"additionalProperties":false,"type":"object","required":["type","city"]}`,
	} {
		if schemas[name] != want {
			t.Errorf("%s's schema:\n%s\nwant\n%s", name, schemas[name], want)
		}
	}
	if len(schemas) != 6 {
		t.Errorf("%d command schemas", len(schemas))
	}
	var events []string
	for _, e := range a.EventTypes {
		events = append(events, e.Name)
		if e.Version != 1 {
			t.Errorf("%s: version %d", e.Name, e.Version)
		}
		if e.Name == "ItemAdded" && compact(t, e.Schema) != `{"$schema":"https://json-schema.org/draft/2020-12/schema","properties":{"sku":{"type":"string"},"quantity":{"type":"integer"},"price":{"type":"integer"}},"additionalProperties":false,"type":"object","required":["sku","quantity","price"]}` {
			t.Errorf("ItemAdded's schema: %s", e.Schema)
		}
	}
	if got := strings.Join(events, ","); got != "AddressSet,CheckedOut,ItemAdded,ItemRemoved,Opened,Tagged" {
		t.Errorf("event types %s", got)
	}
}

// TestStreams lists streams with their heads, all or one category's.
func TestStreams(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	s.command(t, "c1", `{"type":"Open","customer":"ann"}`)
	s.command(t, "c2", `{"type":"Open","customer":"bob"}`)
	s.command(t, "c2", `{"type":"Tag","tags":["x"]}`)
	if _, err := s.store.Append(ctx, "other/1", []eventstore.Event{{Type: "T", Data: []byte(`{}`)}}, eventstore.WithClose()); err != nil {
		t.Fatal(err)
	}
	var all aggregatehttp.Streams
	s.get(t, "/v1/streams", 200, &all)
	var names []string
	for _, st := range all.Streams {
		names = append(names, st.Name)
		h, err := s.store.Head(ctx, st.Name)
		if err != nil {
			t.Fatal(err)
		}
		if st.Version != h.Version || st.Offset != string(h.Offset) || st.StoredAt != h.StoredAt.UTC().Format(time.RFC3339Nano) || st.Closed != h.Closed {
			t.Errorf("%+v, head %+v", st, h)
		}
	}
	if got := strings.Join(names, " "); got != "carts/c1/events carts/c2/events other/1" {
		t.Errorf("streams %s", got)
	}
	if !all.Streams[2].Closed || all.Streams[1].Version != 2 {
		t.Errorf("streams %+v", all.Streams)
	}
	var carts aggregatehttp.Streams
	s.get(t, "/v1/streams?category=carts", 200, &carts)
	if len(carts.Streams) != 2 || carts.Streams[0].Name != "carts/c1/events" {
		t.Errorf("carts: %+v", carts.Streams)
	}
	body := s.get(t, "/v1/streams?category=none", 200, nil)
	if compact(t, body) != `{"streams":[],"next":null}` {
		t.Errorf("no streams: %s", body)
	}
	if body := s.get(t, "/v1/streams?category=a/b", 400, nil); !strings.Contains(errorOf(t, body), `invalid category "a/b"`) {
		t.Errorf("bad category: %s", body)
	}
}

// TestEvents reads a stream or a category from an offset, in pages, and
// waits for what comes next when asked.
func TestEvents(t *testing.T) {
	s := newServer(t)
	s.seed(t, "c1")
	s.command(t, "c2", `{"type":"Open","customer":"bob"}`)

	var page aggregatehttp.Events
	s.get(t, "/v1/events?stream=carts/c1/events&limit=3", 200, &page)
	if len(page.Events) != 3 || page.Events[0].Version != 1 || page.Next != page.Events[2].Offset {
		t.Fatalf("first page %+v", page)
	}
	e := page.Events[0]
	if e.Stream != "carts/c1/events" || e.Type != "Opened" || e.StoredAt != "2026-03-02T09:00:00Z" || compact(t, e.Data) != `{"customer":"ann"}` {
		t.Errorf("event %+v", e)
	}
	var rest aggregatehttp.Events
	s.get(t, "/v1/events?stream=carts/c1/events&from="+page.Next, 200, &rest)
	if len(rest.Events) != 5 || rest.Events[0].Version != 4 || rest.Next != rest.Events[4].Offset {
		t.Fatalf("rest %+v", rest)
	}
	var none aggregatehttp.Events
	s.get(t, "/v1/events?stream=carts/c1/events&from="+rest.Next, 200, &none)
	if len(none.Events) != 0 || none.Next != rest.Next {
		t.Errorf("at the end: %+v", none)
	}
	var cat aggregatehttp.Events
	s.get(t, "/v1/events?category=carts", 200, &cat)
	if len(cat.Events) != 9 || cat.Events[8].Stream != "carts/c2/events" {
		t.Errorf("category: %d events", len(cat.Events))
	}
	var fromNow aggregatehttp.Events
	s.get(t, "/v1/events?category=carts&from=now", 200, &fromNow)
	if len(fromNow.Events) != 0 || fromNow.Next != cat.Next {
		t.Errorf("from now: %+v, want next %s", fromNow, cat.Next)
	}

	// A wait with nothing new ends empty after the wait.
	start := time.Now()
	var waited aggregatehttp.Events
	s.get(t, "/v1/events?stream=carts/c1/events&wait=300ms&from="+rest.Next, 200, &waited)
	if len(waited.Events) != 0 || time.Since(start) < 300*time.Millisecond {
		t.Errorf("empty wait: %+v after %v", waited, time.Since(start))
	}
	// An append during the wait wakes it, for a stream and for a category.
	for _, q := range []string{"stream=carts/c1/events", "category=carts"} {
		from := s.head(t, "c1").Offset
		done := make(chan aggregatehttp.Events, 1)
		go func() {
			var got aggregatehttp.Events
			s.get(t, "/v1/events?"+q+"&wait=20s&from="+string(from), 200, &got)
			done <- got
		}()
		time.Sleep(200 * time.Millisecond)
		res := s.command(t, "c1", `{"type":"Tag","tags":["`+q+`"]}`)
		select {
		case got := <-done:
			if len(got.Events) != 1 || got.Events[0].Offset != res.Offset || got.Next != res.Offset {
				t.Errorf("%s: woken with %+v, want the event at %s", q, got, res.Offset)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the append did not wake the wait", q)
		}
	}

	for _, tc := range []struct{ query, reason string }{
		{"", "give stream=<name> or category=<category>"},
		{"stream=a&category=b", "give stream=<name> or category=<category>"},
		{"stream=carts/c1/events&from=xyz", `from="xyz" is not an offset`},
		{"stream=carts/c1/events&limit=0", `limit="0" is not a number from 1 to 1000`},
		{"stream=carts/c1/events&limit=1001", `limit="1001"`},
		{"stream=carts/c1/events&wait=61s", `wait="61s" is not a duration from 0s to 1m0s`},
		{"stream=carts/c1/events&wait=soon", `wait="soon"`},
		{"stream=a//b", `invalid stream or category name: "a//b" has an empty segment`},
		{"stream=a/../b", `invalid stream or category name: "a/../b" has a ".." segment`},
		{"category=%ff", `invalid stream or category name: "\xff" is not valid UTF-8`},
		{"category=a/b", "invalid stream or category name"},
	} {
		code, body := s.do(t, http.MethodGet, "/v1/events?"+tc.query, "")
		reason := errorOf(t, body)
		if code != 400 || !strings.Contains(reason, tc.reason) || strings.Contains(reason, "eventstore:") {
			t.Errorf("%s: %d %s, want 400 with %q and none of the store's prefixes", tc.query, code, body, tc.reason)
		}
	}
}

// TestStreamsPages: the list pages by name (after, limit), next is the
// name to go on after (null on the last page), total=true counts every
// stream of the listing; bad paging is a 400.
func TestStreamsPages(t *testing.T) {
	s := newServer(t)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		s.command(t, id, `{"type":"Open","customer":"ann"}`)
	}
	var names []string
	after := ""
	for pages := 1; ; pages++ {
		var page aggregatehttp.Streams
		s.get(t, "/v1/streams?category=carts&limit=2&total=true&after="+after, 200, &page)
		if page.Total == nil || *page.Total != 5 || len(page.Streams) > 2 {
			t.Fatalf("page after %q: %+v", after, page)
		}
		for _, st := range page.Streams {
			names = append(names, st.Name)
		}
		if page.Next == nil {
			if pages != 3 {
				t.Errorf("%d pages of 2 for 5 streams", pages)
			}
			break
		}
		after = *page.Next
	}
	if got := strings.Join(names, ","); got != "carts/a/events,carts/b/events,carts/c/events,carts/d/events,carts/e/events" {
		t.Errorf("paged list %s", got)
	}
	var page aggregatehttp.Streams
	s.get(t, "/v1/streams?limit=5", 200, &page)
	if page.Next != nil || page.Total != nil || len(page.Streams) != 5 {
		t.Errorf("one page of all: %+v", page)
	}
	for q, reason := range map[string]string{
		"limit=0":    `limit="0" is not a number from 1 to 1000`,
		"limit=x":    `limit="x"`,
		"total=yes":  `total="yes" is not true or false`,
		"category=a": "", // a category with no streams is an empty list
	} {
		code, body := s.do(t, http.MethodGet, "/v1/streams?"+q, "")
		if reason == "" {
			if code != http.StatusOK {
				t.Errorf("%s: %d %s", q, code, body)
			}
			continue
		}
		if code != http.StatusBadRequest || !strings.Contains(errorOf(t, body), reason) {
			t.Errorf("%s: %d %s, want 400 with %q", q, code, body, reason)
		}
	}
}

// TestEventsOfAClosedStream: a page that reaches a closed stream's end
// says "closed": true and its wait answers at once; one that does not
// reach the end, or of a stream still open, does not, and an open
// stream's wait waits.
func TestEventsOfAClosedStream(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	for i, opts := range [][]eventstore.AppendOption{nil, {eventstore.WithClose()}} {
		if _, err := s.store.Append(ctx, "chat/closed", []eventstore.Event{{Type: "said", Data: []byte(`{}`)}}, opts...); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if _, err := s.store.Append(ctx, "chat/open", []eventstore.Event{{Type: "said", Data: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	page := func(query string) (aggregatehttp.Events, time.Duration) {
		t.Helper()
		start := time.Now()
		var out aggregatehttp.Events
		s.get(t, "/v1/events?"+query, http.StatusOK, &out)
		return out, time.Since(start)
	}
	first, _ := page("stream=chat/closed&limit=1")
	if first.Closed || len(first.Events) != 1 {
		t.Fatalf("a page short of the end: %+v", first)
	}
	last, _ := page("stream=chat/closed&from=" + first.Next)
	if !last.Closed || len(last.Events) != 1 {
		t.Fatalf("the page at the end: %+v, want closed", last)
	}
	end, took := page("stream=chat/closed&wait=5s&from=" + last.Next)
	if !end.Closed || len(end.Events) != 0 || took > 2*time.Second {
		t.Fatalf("a wait at a closed stream's end: %+v after %v, want closed at once", end, took)
	}
	open, took := page("stream=chat/open&wait=300ms&from=now")
	if open.Closed || took < 250*time.Millisecond {
		t.Fatalf("a wait on an open stream: %+v after %v, want it to wait and not say closed", open, took)
	}
}
