package eventstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

func TestCloseStream(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	if _, err := s.Append(ctx, "c/1", []eventstore.Event{ev("a", "1")}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Append(ctx, "c/1", []eventstore.Event{ev("b", "2")}, eventstore.WithClose())
	if err != nil || !res.Closed || res.Version != 2 {
		t.Fatalf("close with event: %+v %v", res, err)
	}
	if _, err := s.Append(ctx, "c/1", []eventstore.Event{ev("c", "3")}); !errors.Is(err, eventstore.ErrStreamClosed) {
		t.Fatalf("append after close: %v", err)
	}
	again, err := s.Append(ctx, "c/1", nil, eventstore.WithClose())
	if err != nil || !again.Closed || again.Version != 2 {
		t.Fatalf("close again: %+v %v", again, err)
	}
	h, err := s.Head(ctx, "c/1")
	if err != nil || !h.Closed || h.Version != 2 || h.Offset != res.Offset() {
		t.Fatalf("head: %+v %v (want offset %s)", h, err, res.Offset())
	}
	// A close without events, by a producer; its retry is a duplicate.
	if _, err := s.Append(ctx, "c/2", []eventstore.Event{ev("a", "1")}, eventstore.WithProducer("p", 0, 0)); err != nil {
		t.Fatal(err)
	}
	cl, err := s.Append(ctx, "c/2", nil, eventstore.WithClose(), eventstore.WithProducer("p", 0, 1))
	if err != nil || !cl.Closed || cl.Duplicate || cl.Version != 1 {
		t.Fatalf("producer close: %+v %v", cl, err)
	}
	dup, err := s.Append(ctx, "c/2", nil, eventstore.WithClose(), eventstore.WithProducer("p", 0, 1))
	if err != nil || !dup.Duplicate || !dup.Closed {
		t.Fatalf("producer close retry: %+v %v", dup, err)
	}
	if _, err := s.Append(ctx, "c/2", []eventstore.Event{ev("x", "1")}, eventstore.WithProducer("p", 0, 2)); !errors.Is(err, eventstore.ErrStreamClosed) {
		t.Fatalf("producer append after close: %v", err)
	}
	// An empty stream closed.
	if _, err := s.Append(ctx, "c/3", nil, eventstore.WithClose()); err != nil {
		t.Fatal(err)
	}
	check := func(s *eventstore.Store) {
		t.Helper()
		for name, want := range map[string]uint64{"c/1": 2, "c/2": 1, "c/3": 0} {
			h, err := s.Head(ctx, name)
			if err != nil || !h.Closed || h.Version != want {
				t.Fatalf("%s head: %+v %v", name, h, err)
			}
		}
		if n := len(collect(t, s.Read(ctx, "c/1"))); n != 2 {
			t.Fatalf("read c/1: %d events", n)
		}
		if n := len(collect(t, s.ReadAll(ctx))); n != 3 {
			t.Fatalf("read all: %d events", n)
		}
	}
	check(s)
	if err := s.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	check(s2)
	if _, err := s2.Append(ctx, "c/3", []eventstore.Event{ev("a", "1")}); !errors.Is(err, eventstore.ErrStreamClosed) {
		t.Fatalf("append after reopen: %v", err)
	}
}

func TestDeleteStream(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	for i := 0; i < 3; i++ {
		if _, err := s.Append(ctx, "d/1", []eventstore.Event{ev("a", "1")}, eventstore.WithProducer("p", 0, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(ctx, "d/2", []eventstore.Event{ev("keep", "1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetMetadata(ctx, "d/1", map[string]string{"k": "v"}, 0); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Head(ctx, "d/1")
	if err := s.DeleteStream(ctx, "d/1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream(ctx, "d/never"); err != nil {
		t.Fatalf("delete of nothing: %v", err)
	}
	h, err := s.Head(ctx, "d/1")
	if err != nil || h.Version != 0 || h.Offset != eventstore.Start {
		t.Fatalf("head after delete: %+v %v", h, err)
	}
	if md, err := s.Metadata(ctx, "d/1"); err != nil || md.Revision != 0 {
		t.Fatalf("metadata after delete: %+v %v", md, err)
	}
	// Made again: version 1, a new producer state, offsets after the old.
	res, err := s.Append(ctx, "d/1", []eventstore.Event{ev("new", "1")}, eventstore.ExpectNoStream(), eventstore.WithProducer("p", 0, 0))
	if err != nil || res.Version != 1 || res.Duplicate {
		t.Fatalf("append after delete: %+v %v", res, err)
	}
	if res.Offset() <= before.Offset {
		t.Fatalf("offset %s reused (before %s)", res.Offset(), before.Offset)
	}
	check := func(s *eventstore.Store) {
		t.Helper()
		got := collect(t, s.Read(ctx, "d/1"))
		if len(got) != 1 || got[0].Type != "new" || got[0].Version != 1 {
			t.Fatalf("read after delete: %+v", got)
		}
		all := collect(t, s.ReadAll(ctx))
		if len(all) != 2 {
			t.Fatalf("read all after delete: %d events", len(all))
		}
	}
	check(s)
	if err := s.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check(s)
	s.Close()
	s2, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	check(s2)
	if _, err := s2.Append(ctx, "d/1", []eventstore.Event{ev("more", "1")}, eventstore.ExpectVersion(1)); err != nil {
		t.Fatal(err)
	}
}

func TestWaitStream(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	h0, err := s.Head(ctx, "w/1")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := s.WaitStream(short, "w/1", h0.Offset); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait with nothing new: %v", err)
	}
	done := make(chan eventstore.Head, 1)
	go func() {
		h, err := s.WaitStream(ctx, "w/1", h0.Offset)
		if err != nil {
			t.Error(err)
		}
		done <- h
	}()
	time.Sleep(20 * time.Millisecond)
	res, err := s.Append(ctx, "w/1", []eventstore.Event{ev("a", "1")})
	if err != nil {
		t.Fatal(err)
	}
	if h := <-done; h.Offset != res.Offset() {
		t.Fatalf("woke at %s, want %s", h.Offset, res.Offset())
	}
	go func() {
		h, _ := s.WaitStream(ctx, "w/1", res.Offset())
		done <- h
	}()
	time.Sleep(20 * time.Millisecond)
	if _, err := s.Append(ctx, "w/1", nil, eventstore.WithClose()); err != nil {
		t.Fatal(err)
	}
	if h := <-done; !h.Closed {
		t.Fatalf("close did not wake: %+v", h)
	}
}

func TestMetadataCompareAndSet(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	rev, err := s.SetMetadata(ctx, "m/1", map[string]string{"a": "1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetMetadata(ctx, "m/1", map[string]string{"a": "2"}, 0); !errors.Is(err, eventstore.ErrMetadataConflict) {
		t.Fatalf("second create: %v", err)
	}
	rev2, err := s.SetMetadata(ctx, "m/1", map[string]string{"a": "2"}, rev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetMetadata(ctx, "m/1", map[string]string{"a": "3"}, rev); !errors.Is(err, eventstore.ErrMetadataConflict) {
		t.Fatalf("stale update: %v", err)
	}
	md, err := s.Metadata(ctx, "m/1")
	if err != nil || md.Revision != rev2 || md.Values["a"] != "2" {
		t.Fatalf("metadata: %+v %v", md, err)
	}
	if _, err := s.Metadata(ctx, "bad//name"); !errors.Is(err, eventstore.ErrInvalidStreamName) {
		t.Fatalf("bad name: %v", err)
	}
}
