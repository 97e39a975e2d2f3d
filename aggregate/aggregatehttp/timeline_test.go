package aggregatehttp_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
	"github.com/rewindhq/rewind/eventstore"
)

// TestTimelinePages: the timeline pages by version (from, limit); the
// pages put together are the whole timeline, each event with the changes
// it has in the whole one; next is the next page's first version and null
// on the last; version is the stream's.
func TestTimelinePages(t *testing.T) {
	s := newServer(t)
	s.seed(t, "c1")
	var whole aggregatehttp.Timeline
	s.get(t, "/v1/timeline/carts/c1", 200, &whole)
	if whole.Version != 8 || whole.From != 1 || whole.Next != nil || len(whole.Events) != 8 || whole.Axis != nil {
		t.Fatalf("whole timeline: %+v", whole)
	}
	var paged []aggregatehttp.Event
	from := "1"
	for pages := 0; ; pages++ {
		var tl aggregatehttp.Timeline
		s.get(t, "/v1/timeline/carts/c1?limit=3&from="+from, 200, &tl)
		if tl.Version != 8 || itoa(tl.From) != from || len(tl.Events) == 0 || len(tl.Events) > 3 {
			t.Fatalf("page from %s: %+v", from, tl)
		}
		paged = append(paged, tl.Events...)
		if tl.Next == nil {
			if pages != 2 {
				t.Errorf("%d pages of 3 for 8 events", pages+1)
			}
			break
		}
		if *tl.Next != tl.From+uint64(len(tl.Events)) {
			t.Fatalf("next %d after %d events from %d", *tl.Next, len(tl.Events), tl.From)
		}
		from = itoa(*tl.Next)
	}
	if !reflect.DeepEqual(paged, whole.Events) {
		t.Errorf("the pages differ from the whole:\n%+v\n%+v", paged, whole.Events)
	}
	// A page in the middle: version 6's changes are those of the whole.
	var mid aggregatehttp.Timeline
	s.get(t, "/v1/timeline/carts/c1?from=6&limit=1", 200, &mid)
	if len(mid.Events) != 1 || mid.Next == nil || *mid.Next != 7 ||
		changes(mid.Events[0].Changes) != "items.sku-1.price: 150 → 140\nitems.sku-1.quantity: 2 → 5\n" {
		t.Errorf("page of version 6: %+v", mid)
	}
}

// TestTimelineAxis: axis=true adds the store time of every version, as
// milliseconds from the previous one, whatever the page.
func TestTimelineAxis(t *testing.T) {
	s := newServer(t)
	s.seed(t, "c1") // an hour apart from t0
	var tl aggregatehttp.Timeline
	s.get(t, "/v1/timeline/carts/c1?from=8&limit=1&axis=true", 200, &tl)
	if tl.Axis == nil || tl.Axis.Start != "2026-03-02T09:00:00Z" || len(tl.Events) != 1 {
		t.Fatalf("%+v", tl)
	}
	want := []int64{0, 3600000, 3600000, 3600000, 3600000, 3600000, 3600000, 3600000}
	if !reflect.DeepEqual(tl.Axis.Ms, want) {
		t.Errorf("axis %v, want %v", tl.Axis.Ms, want)
	}
}

// TestTimelineBadInput: bad paging parameters are 400s with a reason;
// an instance without events and an unknown type are 404s.
func TestTimelineBadInput(t *testing.T) {
	s := newServer(t)
	s.seed(t, "c1")
	for q, reason := range map[string]string{
		"from=0":     `from="0" is not a version`,
		"from=x":     `from="x" is not a version`,
		"from=-1":    `from="-1" is not a version`,
		"from=9":     "from=9 is past the stream's version 8",
		"limit=0":    `limit="0" is not a number from 1 to 1000`,
		"limit=1001": `limit="1001" is not a number from 1 to 1000`,
		"axis=maybe": `axis="maybe" is not true or false`,
	} {
		code, body := s.do(t, http.MethodGet, "/v1/timeline/carts/c1?"+q, "")
		if code != http.StatusBadRequest || !strings.Contains(errorOf(t, body), reason) {
			t.Errorf("%s: %d %s, want 400 with %q", q, code, body, reason)
		}
	}
	s.get(t, "/v1/timeline/carts/nobody?from=2", 404, nil)
	s.get(t, "/v1/timeline/boats/b1?limit=2", 404, nil)
}

// TestEventDetails: every event of a timeline, a diff and a command's
// answer carries its id, producer time, metadata and the command id its
// Append recorded: the Idempotency-Key it was sent with, "" without one.
func TestEventDetails(t *testing.T) {
	s := newServer(t)
	res := s.command(t, "d1", `{"type":"Open","customer":"ann"}`, "Idempotency-Key", "open-d1")
	s.command(t, "d1", `{"type":"Tag","tags":["a"]}`)
	stored, err := collectEvents(s, "carts/d1/events")
	if err != nil || len(stored) != 2 {
		t.Fatalf("%d events, %v", len(stored), err)
	}
	var tl aggregatehttp.Timeline
	s.get(t, "/v1/timeline/carts/d1", 200, &tl)
	var diff aggregatehttp.Diff
	s.get(t, "/v1/diff/carts/d1?from=0&to=2", 200, &diff)
	for _, events := range [][]aggregatehttp.Event{tl.Events, diff.Events} {
		if len(events) != 2 {
			t.Fatalf("%+v", events)
		}
		for i, e := range events {
			want := stored[i]
			if e.ID != want.ID.String() || e.Time != want.Time.UTC().Format(time.RFC3339Nano) ||
				e.Offset != string(want.Offset) || e.Metadata == nil {
				t.Errorf("event %d: %+v, stored %+v", i+1, e, want)
			}
		}
		if events[0].CommandID != "open-d1" || events[1].CommandID != "" {
			t.Errorf("command ids %q %q, want open-d1 and none", events[0].CommandID, events[1].CommandID)
		}
	}
	if e := res.Events[0]; e.ID != stored[0].ID.String() || e.CommandID != "open-d1" {
		t.Errorf("the command's answer: %+v", e)
	}
	// Metadata set by the appender is given as stored.
	if _, err := s.store.Append(context.Background(), "carts/d1/events", []eventstore.Event{{Type: "Tagged", Data: []byte(`{"tags":["m"]}`),
		Metadata: map[string]string{eventstore.MetaCorrelationID: "corr-1"}}}); err != nil {
		t.Fatal(err)
	}
	s.get(t, "/v1/timeline/carts/d1?from=3", 200, &tl)
	if len(tl.Events) != 1 || tl.Events[0].Metadata[eventstore.MetaCorrelationID] != "corr-1" {
		t.Errorf("metadata: %+v", tl.Events)
	}
}
