package aggregatehttp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
)

// TestState: the state now, at a version and at a time is what the
// repository loads for that point, with the version and store time it is
// at.
func TestState(t *testing.T) {
	s := newServer(t)
	s.seed(t, "c1")
	ctx := context.Background()
	for _, tc := range []struct {
		query   string
		version uint64
		at      string
	}{
		{"", 8, "2026-03-02T16:00:00Z"},
		{"?version=3", 3, "2026-03-02T11:00:00Z"},
		{"?version=8", 8, "2026-03-02T16:00:00Z"},
		{"?at=2026-03-02T13:30:00Z", 5, "2026-03-02T13:00:00Z"},
		{"?at=2026-03-02T13:00:00Z", 5, "2026-03-02T13:00:00Z"},
		{"?at=2026-03-02T14:30:00%2B01:00", 5, "2026-03-02T13:00:00Z"}, // 13:30 UTC
		{"?at=2026-03-02T12:59:59.999999999Z", 4, "2026-03-02T12:00:00Z"},
		{"?at=2026-03-09T00:00:00Z", 8, "2026-03-02T16:00:00Z"},
		{"?version=0", 0, ""},
		{"?at=2026-03-01T00:00:00Z", 0, ""},
		{"?at=0001-01-01T00:00:00Z", 0, ""}, // the zero time (it was a 500)
		{"?at=0000-06-01T00:00:00Z", 0, ""},
	} {
		var got aggregatehttp.State
		s.get(t, "/v1/state/carts/c1"+tc.query, 200, &got)
		l, err := s.repo.LoadVersion(ctx, "c1", tc.version)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(l.State)
		at := ""
		if got.At != nil {
			at = *got.At
		}
		if got.Category != "carts" || got.ID != "c1" || got.Stream != "carts/c1/events" || got.Version != tc.version ||
			at != tc.at || compact(t, got.State) != string(want) {
			t.Errorf("state%s: %+v (at %q, state %s), want version %d at %q state %s", tc.query, got, at, got.State, tc.version, tc.at, want)
		}
	}
	for _, tc := range []struct {
		path   string
		code   int
		reason string
	}{
		{"/v1/state/carts/c1?version=9", 400, "version 9 is past the stream's version 8"},
		{"/v1/state/carts/c1?version=x", 400, `version="x" is not a version`},
		{"/v1/state/carts/c1?version=-1", 400, `version="-1" is not a version`},
		{"/v1/state/carts/c1?at=yesterday", 400, `at="yesterday" is not an RFC 3339 time`},
		{"/v1/state/carts/c1?version=1&at=2026-03-02T13:00:00Z", 400, "not both"},
		{"/v1/state/carts/nobody", 404, "carts/nobody/events has no events"},
		{"/v1/state/boats/b1", 404, `no aggregate type "boats"`},
		{"/v1/state/carts/a%2Fb", 400, `invalid id "a/b"`},
	} {
		body := s.get(t, tc.path, tc.code, nil)
		if !strings.Contains(errorOf(t, body), tc.reason) {
			t.Errorf("%s: %s, want %q", tc.path, body, tc.reason)
		}
	}
}

// TestDiff: the changes between two points, by version or by time, name
// every field that differs (nested objects, map entries added and
// removed, array elements), and the events between are those after from
// up to to.
func TestDiff(t *testing.T) {
	s := newServer(t)
	s.seed(t, "c1")
	for _, tc := range []struct {
		query    string
		from, to uint64
		changes  string
	}{
		{"from=2&to=7", 2, 7, `address: null → {"city":"Paris"}
items.sku-1.price: 150 → 140
items.sku-1.quantity: 2 → 5
tags: null → ["a","b"]
`},
		{"from=2026-03-02T12:00:00Z&to=2026-03-02T16:00:00Z", 4, 8, `address: null → {"city":"Paris"}
items.sku-1.price: 150 → 140
items.sku-1.quantity: 2 → 5
items.sku-2: {"price":900,"quantity":1} → null
tags.2: null → "c"
`},
		{"from=0&to=1", 0, 1, `customer: null → "ann"
status: null → "open"
`},
		{"from=3&to=2026-03-02T11:30:00Z", 3, 3, ""},
		{"from=5&to=8", 5, 8, `items.sku-1.price: 150 → 140
items.sku-1.quantity: 2 → 5
items.sku-2: {"price":900,"quantity":1} → null
tags.2: null → "c"
`},
	} {
		var d aggregatehttp.Diff
		s.get(t, "/v1/diff/carts/c1?"+tc.query, 200, &d)
		if d.From.Version != tc.from || d.To.Version != tc.to {
			t.Errorf("%s: from %d to %d, want %d to %d", tc.query, d.From.Version, d.To.Version, tc.from, tc.to)
		}
		if got := changes(d.Changes); got != tc.changes {
			t.Errorf("%s: changes\n%s\nwant\n%s", tc.query, got, tc.changes)
		}
		var versions []uint64
		for _, e := range d.Events {
			versions = append(versions, e.Version)
		}
		if len(versions) != int(tc.to-tc.from) || len(versions) > 0 && (versions[0] != tc.from+1 || versions[len(versions)-1] != tc.to) {
			t.Errorf("%s: events %v", tc.query, versions)
		}
		var to aggregatehttp.State
		s.get(t, "/v1/state/carts/c1?version="+itoa(tc.to), 200, &to)
		if compact(t, d.To.State) != compact(t, to.State) || *d.To.At != *to.At {
			t.Errorf("%s: to state %s at %s, state endpoint %s at %s", tc.query, d.To.State, *d.To.At, to.State, *to.At)
		}
	}

	// A pointer set again, a field added inside it, an array that grows.
	s.commandAt(t, 8*time.Hour, "c1", `{"type":"SetAddress","city":"Lyon","zip":"69001"}`)
	s.commandAt(t, 9*time.Hour, "c1", `{"type":"Tag","tags":["d","e"]}`)
	var d aggregatehttp.Diff
	s.get(t, "/v1/diff/carts/c1?from=8&to=10", 200, &d)
	if got, want := changes(d.Changes), `address.city: "Paris" → "Lyon"
address.zip: null → "69001"
tags.3: null → "d"
tags.4: null → "e"
`; got != want {
		t.Errorf("changes\n%s\nwant\n%s", got, want)
	}

	for _, tc := range []struct {
		query  string
		code   int
		reason string
	}{
		{"from=7&to=3", 400, "from (version 7) is after to (version 3)"},
		{"from=2026-03-02T16:00:00Z&to=2", 400, "from (version 8) is after to (version 2)"},
		{"from=1", 400, "give from and to"},
		{"to=1", 400, "give from and to"},
		{"from=1&to=11", 400, "version 11 is past the stream's version 10"},
		{"from=x&to=2", 400, `from="x" is neither a version nor an RFC 3339 time`},
	} {
		body := s.get(t, "/v1/diff/carts/c1?"+tc.query, tc.code, nil)
		if !strings.Contains(errorOf(t, body), tc.reason) {
			t.Errorf("%s: %s, want %q", tc.query, body, tc.reason)
		}
	}
	s.get(t, "/v1/diff/carts/nobody?from=0&to=1", 404, nil)
}

// TestTimeline: every event, in order, with its version, offset, store
// time, data and the fields it changed.
func TestTimeline(t *testing.T) {
	s := newServer(t)
	s.seed(t, "c1")
	var tl aggregatehttp.Timeline
	s.get(t, "/v1/timeline/carts/c1", 200, &tl)
	if tl.Category != "carts" || tl.ID != "c1" || tl.Stream != "carts/c1/events" || tl.Version != 8 || len(tl.Events) != 8 {
		t.Fatalf("timeline %+v", tl)
	}
	want := []string{
		"customer: null → \"ann\"\nstatus: null → \"open\"\n",
		"items: null → {\"sku-1\":{\"price\":150,\"quantity\":2}}\n",
		"items.sku-2: null → {\"price\":900,\"quantity\":1}\n",
		"tags: null → [\"a\",\"b\"]\n",
		"address: null → {\"city\":\"Paris\"}\n",
		"items.sku-1.price: 150 → 140\nitems.sku-1.quantity: 2 → 5\n",
		"items.sku-2: {\"price\":900,\"quantity\":1} → null\n",
		"tags.2: null → \"c\"\n",
	}
	types := []string{"Opened", "ItemAdded", "ItemAdded", "Tagged", "AddressSet", "ItemAdded", "ItemRemoved", "Tagged"}
	events, err := collectEvents(s, "carts/c1/events")
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range tl.Events {
		stored := events[i]
		if e.Version != uint64(i+1) || e.Type != types[i] || e.Offset != string(stored.Offset) ||
			e.StoredAt != t0.Add(time.Duration(i)*time.Hour).Format(time.RFC3339Nano) || compact(t, e.Data) != compact(t, stored.Data) {
			t.Errorf("event %d: %+v", i+1, e)
		}
		if got := changes(e.Changes); got != want[i] {
			t.Errorf("event %d changes\n%s\nwant\n%s", i+1, got, want[i])
		}
	}
	s.get(t, "/v1/timeline/carts/nobody", 404, nil)
	s.get(t, "/v1/timeline/boats/b1", 404, nil)
}

// TestAnswersCarryTheirLength: a JSON answer says its length
// (Content-Length) instead of coming in chunks, also past the 2 KB that
// net/http measures by itself: the client knows at once that it has the
// whole answer.
func TestAnswersCarryTheirLength(t *testing.T) {
	s := newServer(t)
	s.seed(t, "c1")
	for _, path := range []string{"/v1/timeline/carts/c1", "/v1/state/carts/c1?version=3", "/v1/state/carts/nobody"} {
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) != 0 {
			t.Errorf("GET %s: Content-Length %d, Transfer-Encoding %v for a body of %d bytes", path, resp.ContentLength, resp.TransferEncoding, len(body))
		}
		if path == "/v1/timeline/carts/c1" && len(body) <= 2048 {
			t.Errorf("GET %s: %d bytes, want more than 2 KB (net/http sets the length of a smaller answer itself)", path, len(body))
		}
	}
}

// TestZeroTime: the zero time (0001-01-01T00:00:00Z), which the store
// takes as no bound, is before every event wherever a client gives a
// time: diff's from and to, export's to (it was a 500, "invalid option:
// zero time").
func TestZeroTime(t *testing.T) {
	s := newServer(t)
	s.seed(t, "c1")
	const zero = "0001-01-01T00:00:00Z"
	var d aggregatehttp.Diff
	s.get(t, "/v1/diff/carts/c1?from="+zero+"&to=2", 200, &d)
	if d.From.Version != 0 || d.To.Version != 2 || len(d.Events) != 2 {
		t.Errorf("diff from the zero time to 2: from %d, to %d, %d events; want 0, 2, 2", d.From.Version, d.To.Version, len(d.Events))
	}
	d = aggregatehttp.Diff{}
	s.get(t, "/v1/diff/carts/c1?from=0&to="+zero, 200, &d)
	if d.From.Version != 0 || d.To.Version != 0 || len(d.Events) != 0 {
		t.Errorf("diff from 0 to the zero time: from %d, to %d, %d events; want 0, 0, 0", d.From.Version, d.To.Version, len(d.Events))
	}
	if code, b := s.do(t, http.MethodGet, "/v1/export/carts/c1?to="+zero, ""); code != 200 {
		t.Errorf("export to the zero time: %d %s", code, b)
	}
}
