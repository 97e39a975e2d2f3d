package eventstore_test

import (
	"context"
	"iter"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// TestSubscribeBoundAlreadyReached: a subscription whose upper bound the
// log has already reached ends once it has delivered what lies within the
// bound, without waiting for a later event that may never come; one whose
// bound is still ahead delivers the live events up to it, then ends.
func TestSubscribeBoundAlreadyReached(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	r1, err := s.Append(ctx, "ub/1", evs(2, 0))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.Append(ctx, "ub/2", evs(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	r3, err := s.Append(ctx, "ub/1", evs(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		sub  func(context.Context) iter.Seq2[eventstore.Event, error]
		want int
	}{
		{"ToVersion(head)", func(c context.Context) iter.Seq2[eventstore.Event, error] {
			return s.Subscribe(c, "ub/1", eventstore.ToVersion(3))
		}, 3},
		{"ToVersion(below head)", func(c context.Context) iter.Seq2[eventstore.Event, error] {
			return s.Subscribe(c, "ub/1", eventstore.ToVersion(2))
		}, 2},
		{"ToOffset(its last event)", func(c context.Context) iter.Seq2[eventstore.Event, error] {
			return s.Subscribe(c, "ub/1", eventstore.ToOffset(r3.Offset()))
		}, 3},
		{"ToOffset(another stream's event)", func(c context.Context) iter.Seq2[eventstore.Event, error] {
			return s.Subscribe(c, "ub/1", eventstore.ToOffset(r2.Offset()))
		}, 2},
		{"From and ToOffset the same", func(c context.Context) iter.Seq2[eventstore.Event, error] {
			return s.Subscribe(c, "ub/1", eventstore.From(r3.Offset()), eventstore.ToOffset(r3.Offset()))
		}, 0},
		{"a missing stream, ToOffset(tail)", func(c context.Context) iter.Seq2[eventstore.Event, error] {
			return s.Subscribe(c, "ub/404", eventstore.ToOffset(r3.Offset()))
		}, 0},
		{"ToTime(a past time)", func(c context.Context) iter.Seq2[eventstore.Event, error] {
			return s.Subscribe(c, "ub/1", eventstore.ToTime(r2.StoredAt))
		}, 2},
		{"All, ToOffset(tail)", func(c context.Context) iter.Seq2[eventstore.Event, error] {
			return s.SubscribeAll(c, eventstore.ToOffset(r3.Offset()))
		}, 4},
		{"All, ToTime(the last store time)", func(c context.Context) iter.Seq2[eventstore.Event, error] {
			return s.SubscribeAll(c, eventstore.ToTime(r3.StoredAt))
		}, 4},
		{"Category, ToOffset(mid log)", func(c context.Context) iter.Seq2[eventstore.Event, error] {
			return s.SubscribeCategory(c, "ub", eventstore.ToOffset(r2.Offset()))
		}, 3},
		{"Streams, ToOffset(a mid-commit event)", func(c context.Context) iter.Seq2[eventstore.Event, error] {
			return s.SubscribeStreams(c, []string{"ub/1"}, eventstore.ToOffset(r1.Offsets[0]))
		}, 1},
	} {
		// ToTime compares store times: the bound of the last one is
		// passed only by a commit stored after it.
		if c.name == "All, ToTime(the last store time)" {
			if _, err := s.Append(ctx, "other/1", evs(1, 0)); err != nil {
				t.Fatal(err)
			}
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n := 0
		for _, err := range c.sub(sctx) {
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			n++
		}
		timedOut := sctx.Err() != nil
		cancel()
		if timedOut || n != c.want {
			t.Errorf("%s: %d events, ended by the context: %v; want %d events and an end of its own", c.name, n, timedOut, c.want)
		}
	}

	// A bound still ahead: the subscription goes live and ends at it.
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got := make(chan int)
	go func() {
		n := 0
		for _, err := range s.Subscribe(sctx, "ub/1", eventstore.ToVersion(5)) {
			if err != nil {
				t.Error(err)
				break
			}
			n++
		}
		got <- n
	}()
	for i := range 3 {
		if _, err := s.Append(ctx, "ub/1", evs(1, 3+i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := <-got; n != 5 || sctx.Err() != nil {
		t.Fatalf("ToVersion(5) with the stream at 3, then 3 appends: %d events (context ended: %v), want 5", n, sctx.Err() != nil)
	}
}

// TestSubscribeBoundsAcrossProcesses: a ToOffset bound at another
// process's commit, which this process's read index may not hold yet when
// the subscription starts, ends the subscription once it is delivered;
// and ToTime does not end a subscription on another process's clock: an
// event of its own stream stored within the bound still comes.
func TestSubscribeBoundsAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	ahead := func() time.Time { return time.Now().Add(time.Hour) } // a's clock runs an hour ahead
	a, _ := openStore(t, eventstore.WithListen("127.0.0.1", 0), eventstore.WithClock(ahead))
	b, err := eventstore.Connect(ctx, a.ClientURL(), eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := range 10 {
		res, err := a.Append(ctx, "op/1", evs(1, i))
		if err != nil {
			t.Fatal(err)
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n := 0
		for _, err := range b.SubscribeAll(sctx, eventstore.ToOffset(res.Offset())) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		timedOut := sctx.Err() != nil
		cancel()
		if timedOut || n != i+1 {
			t.Fatalf("round %d: SubscribeAll(ToOffset(a's last commit)) in b: %d events, ended by the context: %v; want %d and an end", i, n, timedOut, i+1)
		}
	}

	bound := time.Now().Add(time.Minute) // after b's clock, before a's
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got := make(chan int, 1)
	go func() {
		n := 0
		for _, err := range b.Subscribe(sctx, "mine/1", eventstore.ToTime(bound)) {
			if err != nil {
				t.Error(err)
				break
			}
			if n++; n == 1 {
				cancel() // its bound is still ahead: it would wait for more
			}
		}
		got <- n
	}()
	time.Sleep(200 * time.Millisecond)
	if _, err := b.Append(ctx, "mine/1", evs(1, 0)); err != nil {
		t.Fatal(err)
	}
	if n := <-got; n != 1 {
		t.Fatalf("Subscribe(ToTime) delivered %d events of its stream stored within the bound, want 1", n)
	}
}
