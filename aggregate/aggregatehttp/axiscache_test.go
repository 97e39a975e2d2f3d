package aggregatehttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rewindhq/rewind/aggregate/aggregatehttp"
	"github.com/rewindhq/rewind/eventstore"
)

// TestTimelineAxisLongStream: the axis of a stream long enough for the
// server to keep it is the store time of every version after appends to
// the stream (the kept axis extended), and after the stream is deleted and
// made again, longer than before (the kept axis not taken for the new
// stream's), exactly as the stream's events say.
func TestTimelineAxisLongStream(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	const stream = "carts/long/events"
	at := t0
	appendItems := func(n int, step time.Duration) {
		t.Helper()
		for n > 0 {
			batch := make([]eventstore.Event, min(n, 100))
			for i := range batch {
				batch[i] = eventstore.Event{Type: "ItemAdded", Data: json.RawMessage(fmt.Sprintf(`{"sku":"sku-%d","quantity":1,"price":100}`, i%7))}
			}
			s.clock.set(at)
			if _, err := s.store.Append(ctx, stream, batch); err != nil {
				t.Fatal(err)
			}
			at = at.Add(step)
			n -= len(batch)
		}
	}
	check := func(when string) {
		t.Helper()
		h := s.head(t, "long")
		var tl aggregatehttp.Timeline
		s.get(t, fmt.Sprintf("/v1/timeline/carts/long?from=%d&limit=1&axis=true", h.Version), 200, &tl)
		// Summed, the steps give each version's time to the millisecond
		// (as the page sums them), however many there are.
		want := aggregatehttp.Axis{Ms: []int64{}}
		var start time.Time
		var sum int64
		for e, err := range s.store.Read(ctx, stream) {
			if err != nil {
				t.Fatal(err)
			}
			if start.IsZero() {
				start = e.StoredAt
				want.Start = e.StoredAt.UTC().Format(time.RFC3339Nano)
			}
			ms := e.StoredAt.Sub(start).Milliseconds()
			want.Ms = append(want.Ms, ms-sum)
			sum = ms
		}
		if tl.Axis == nil || tl.Version != h.Version || uint64(len(want.Ms)) != h.Version {
			t.Fatalf("%s: version %d (head %d), axis %v", when, tl.Version, h.Version, tl.Axis != nil)
		}
		if tl.Axis.Start != want.Start || !reflect.DeepEqual(tl.Axis.Ms, want.Ms) {
			t.Fatalf("%s: the axis starts at %s with %d versions, want %s and %d; first difference at %d",
				when, tl.Axis.Start, len(tl.Axis.Ms), want.Start, len(want.Ms), firstDiff(tl.Axis.Ms, want.Ms))
		}
	}
	appendItems(1200, time.Second)
	check("the first request")
	check("the same head again")
	appendItems(150, time.Minute)
	check("after appends")
	// Steps of less than a millisecond, one event each: cut one by one,
	// they summed to 0 where 1,500 of them are almost a second.
	for range 1500 {
		at = at.Add(600 * time.Microsecond)
		s.clock.set(at)
		if _, err := s.store.Append(ctx, stream, []eventstore.Event{{Type: "ItemAdded", Data: json.RawMessage(`{"sku":"sku-1","quantity":1,"price":100}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	check("after steps of 0.6 ms")
	if err := s.store.DeleteStream(ctx, stream); err != nil {
		t.Fatal(err)
	}
	at = t0.Add(48 * time.Hour)
	appendItems(1500, 3*time.Second)
	check("the stream deleted and made again, longer")
	if err := s.store.DeleteStream(ctx, stream); err != nil {
		t.Fatal(err)
	}
	at = t0.Add(96 * time.Hour)
	appendItems(1100, 2*time.Second)
	check("made again, shorter")
}

func firstDiff(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
