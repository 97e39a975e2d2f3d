package eventstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// TestTail checks Store.Tail: the log's end, fixed when it returns, from
// which every read and subscription delivers exactly the events appended
// afterwards, to any stream.
func TestTail(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	tail, err := s.Tail(ctx)
	if err != nil || tail != eventstore.Start {
		t.Fatalf("tail of an empty log: %q, %v; want Start", tail, err)
	}
	last, err := s.Append(ctx, "orders/1", evs(3, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "users/1", evs(2, 1)); err != nil {
		t.Fatal(err)
	}
	tail, err = s.Tail(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eventstore.ParseOffset(string(tail)); err != nil {
		t.Fatalf("tail %q does not parse: %v", tail, err)
	}
	if tail <= last.Offset() {
		t.Fatalf("tail %q is not after the offset %q of an earlier commit", tail, last.Offset())
	}

	// A subscription started From the tail before the next appends sees
	// exactly them, whatever happens between Tail and the subscription.
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	live := make(chan eventstore.Event, 16)
	go func() {
		defer close(live)
		for e, err := range s.SubscribeAll(sctx, eventstore.From(tail)) {
			if err != nil {
				return
			}
			live <- e
		}
	}()
	after1, err := s.Append(ctx, "orders/1", evs(2, 4))
	if err != nil {
		t.Fatal(err)
	}
	after2, err := s.Append(ctx, "orders/2", evs(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := append(append([]eventstore.Offset{}, after1.Offsets...), after2.Offsets...)

	for _, e := range want {
		if e <= tail {
			t.Fatalf("offset %q of a later append is not after the tail %q", e, tail)
		}
	}
	offsets := func(events []eventstore.Event) []eventstore.Offset {
		var out []eventstore.Offset
		for _, e := range events {
			out = append(out, e.Offset)
		}
		return out
	}
	same := func(what string, got, want []eventstore.Offset) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s from the tail: %q, want %q", what, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s from the tail: %q, want %q", what, got, want)
			}
		}
	}
	same("ReadAll", offsets(collect(t, s.ReadAll(ctx, eventstore.From(tail)))), want)
	same("ReadCategory", offsets(collect(t, s.ReadCategory(ctx, "orders", eventstore.From(tail)))), want)
	same("Read", offsets(collect(t, s.Read(ctx, "orders/1", eventstore.From(tail)))), after1.Offsets)
	var got []eventstore.Offset
	for len(got) < len(want) {
		select {
		case e, ok := <-live:
			if !ok {
				t.Fatalf("subscription ended after %q", got)
			}
			got = append(got, e.Offset)
		case <-sctx.Done():
			t.Fatalf("subscription from the tail delivered %q, want %q", got, want)
		}
	}
	same("SubscribeAll", got, want)

	s.Close()
	if _, err := s.Tail(ctx); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("Tail after Close: %v, want ErrClosed", err)
	}
}

// TestTailAfterCommitsWithoutEvents: a commit without events (a command id
// recorded alone, a close, a delete's tombstone) moves Tail past the last
// event, as documented: the last event's offset is before it, nothing
// lies between, and the next event is after it.
func TestTailAfterCommitsWithoutEvents(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	res, err := s.Append(ctx, "tw/1", evs(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error {
			_, err := s.Append(ctx, "tw/2", nil, eventstore.WithCommandID("nothing-to-do"))
			return err
		},
		func() error { _, err := s.Append(ctx, "tw/3", nil, eventstore.WithClose()); return err },
		func() error { return s.DeleteStream(ctx, "tw/1") },
	}
	prev := res.Offset()
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
		tail, err := s.Tail(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tail <= prev {
			t.Fatalf("step %d: tail %s is not after %s", i, tail, prev)
		}
		n := 0
		for _, err := range s.ReadAll(ctx, eventstore.From(res.Offset()), eventstore.ToOffset(tail)) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 0 {
			t.Fatalf("step %d: %d events between the last event and the tail", i, n)
		}
		prev = tail
	}
	next, err := s.Append(ctx, "tw/4", evs(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if next.Offset() <= prev {
		t.Fatalf("the next event's offset %s is not after the tail %s", next.Offset(), prev)
	}
	if tail, _ := s.Tail(ctx); tail != next.Offset() {
		t.Fatalf("after an append the tail is %s, want the append's offset %s", tail, next.Offset())
	}
}
