package eventstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/scrape"
)

// take reads n events of an iterator, then stops it.
func take(t *testing.T, seq func(func(eventstore.Event, error) bool), n int) []eventstore.Event {
	t.Helper()
	var got []eventstore.Event
	if n == 0 {
		return nil
	}
	for e, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
		if len(got) == n {
			break
		}
	}
	return got
}

func TestMetricsCountLogReadsAndSubscriptions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, reg, rec := observed(t, true)
	for _, a := range []struct {
		stream string
		n      int
	}{{"cat/a", 3}, {"cat/b", 2}, {"other/x", 1}} {
		if _, err := s.Append(ctx, a.stream, evs(a.n, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(collect(t, s.ReadAll(ctx))); n != 6 {
		t.Fatalf("ReadAll: %d events", n)
	}
	if n := len(collect(t, s.ReadCategory(ctx, "cat"))); n != 5 {
		t.Fatalf("ReadCategory: %d events", n)
	}
	if n := len(collect(t, s.ReadStreams(ctx, []string{"cat/a", "other/x"}))); n != 4 {
		t.Fatalf("ReadStreams: %d events", n)
	}

	// A subscription to a stream: its three events, then, while it runs,
	// one appended live.
	sub := s.Subscribe(ctx, "cat/a")
	got := make(chan int, 1)
	running := make(chan struct{})
	go func() {
		n := 0
		for _, err := range sub {
			if err != nil {
				break
			}
			if n++; n == 3 {
				close(running)
			}
			if n == 4 {
				break
			}
		}
		got <- n
	}()
	<-running
	ss, err := scrape.Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	want(t, ss, 1, "rewind_subscriptions_active", "kind", "stream")
	if _, err := s.Append(ctx, "cat/a", evs(1, 3)); err != nil {
		t.Fatal(err)
	}
	if n := <-got; n != 4 {
		t.Fatalf("the subscription delivered %d events, want 4", n)
	}
	take(t, s.SubscribeAll(ctx), 2)
	take(t, s.SubscribeCategory(ctx, "cat"), 6)

	ss, err = scrape.Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind                  string
		reads, readEvents     float64
		subs, subEvents, live float64
	}{
		{"all", 1, 6, 1, 2, 0},
		{"category", 1, 5, 1, 6, 0},
		{"streams", 1, 4, 0, 0, 0},
		{"stream", 0, 0, 1, 4, 0},
	} {
		want(t, ss, c.reads, "rewind_reads_total", "kind", c.kind)
		want(t, ss, c.readEvents, "rewind_read_events_total", "kind", c.kind)
		want(t, ss, c.reads, "rewind_read_duration_seconds_count", "kind", c.kind)
		want(t, ss, c.subs, "rewind_subscriptions_total", "kind", c.kind)
		want(t, ss, c.live, "rewind_subscriptions_active", "kind", c.kind)
		want(t, ss, c.subEvents, "rewind_subscription_events_total", "kind", c.kind)
		want(t, ss, c.subEvents, "rewind_subscription_lag_seconds_count", "kind", c.kind)
	}
	// Lag is the events' age at delivery: never negative, and for these
	// events, stored moments ago, far below a minute.
	if sum, _ := ss.Sum("rewind_subscription_lag_seconds_sum"); sum < 0 || sum > 60*12 {
		t.Errorf("rewind_subscription_lag_seconds_sum = %v", sum)
	}

	var names []string
	for _, sp := range rec.Ended() {
		names = append(names, sp.Name())
	}
	for _, n := range []string{"eventstore.ReadAll", "eventstore.ReadCategory", "eventstore.ReadStreams"} {
		if !slices.Contains(names, n) {
			t.Errorf("no span %s in %v", n, names)
		}
	}
}

// Without an Observer, the reads and subscriptions are the iterators
// themselves: nothing wraps them.
func TestLogReadsWithoutObserver(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	if _, err := s.Append(ctx, "cat/a", evs(2, 0)); err != nil {
		t.Fatal(err)
	}
	if n := len(collect(t, s.ReadCategory(ctx, "cat"))); n != 2 {
		t.Fatalf("ReadCategory: %d events", n)
	}
	if n := len(take(t, s.SubscribeAll(ctx), 2)); n != 2 {
		t.Fatalf("SubscribeAll: %d events", n)
	}
}
