package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// TestDeleteThenReadLog: a log-ordered read (ReadAll, ReadCategory, a
// subscription's catch-up) begun after DeleteStream returned shows none of
// the deleted events, as Read does: its index part waits for the
// tombstone this store handed the index (it read the index's log-ordered
// copy as it stood, the deleted commits still in it, and the log after it,
// purged, for a moment after the delete).
func TestDeleteThenReadLog(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	for round := range 20 {
		stream := fmt.Sprintf("dl/%d", round)
		if _, err := s.Append(ctx, stream, evs(2, 0)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetMetadata(ctx, stream, map[string]string{"k": "v"}, 0); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteStream(ctx, stream); err != nil {
			t.Fatal(err)
		}
		sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		for what, seq := range map[string]func(func(eventstore.Event, error) bool){
			"ReadAll":           s.ReadAll(ctx),
			"ReadCategory":      s.ReadCategory(ctx, "dl"),
			"SubscribeAll":      s.SubscribeAll(sctx),
			"SubscribeCategory": s.SubscribeCategory(sctx, "dl"),
		} {
			for e, err := range seq {
				if err != nil {
					t.Errorf("%s: %v", what, err)
				} else {
					t.Errorf("round %d: %s after the delete: %s v%d", round, what, e.Stream, e.Version)
				}
				break
			}
		}
		cancel()
		if t.Failed() {
			return
		}
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

// TestCloseWithExpectationsAndCommandIDs: a close is an append like any
// other: ExpectVersion and WithCommandID apply to it, and its command id's
// retry is its duplicate, closed.
func TestCloseWithExpectationsAndCommandIDs(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	if _, err := s.Append(ctx, "ce/1", evs(2, 0)); err != nil {
		t.Fatal(err)
	}
	var ce *eventstore.ConcurrencyError
	if _, err := s.Append(ctx, "ce/1", nil, eventstore.WithClose(), eventstore.ExpectVersion(1)); !errors.As(err, &ce) || ce.Actual != 2 {
		t.Fatalf("close at a stale version: %v", err)
	}
	if h, _ := s.Head(ctx, "ce/1"); h.Closed {
		t.Fatal("a refused close closed the stream")
	}
	res, err := s.Append(ctx, "ce/1", nil, eventstore.WithClose(), eventstore.ExpectVersion(2), eventstore.WithCommandID("close-1"))
	if err != nil || !res.Closed || res.Version != 2 || res.FirstVersion != 2 || len(res.Offsets) != 0 || res.Offset() != "" {
		t.Fatalf("close: %+v %v", res, err)
	}
	dup, err := s.Append(ctx, "ce/1", nil, eventstore.WithClose(), eventstore.ExpectVersion(2), eventstore.WithCommandID("close-1"))
	if err != nil || !dup.Duplicate || !dup.Closed || dup.Version != 2 || dup.FirstVersion != 2 || !dup.StoredAt.Equal(res.StoredAt) {
		t.Fatalf("the close's retry: %+v %v (the close: %+v)", dup, err, res)
	}
	if out, ok, err := s.CommandOutcome(ctx, "ce/1", "close-1"); err != nil || !ok || !out.Closed || out.Version != 2 || out.FirstVersion != 2 {
		t.Fatalf("command outcome: %+v %v %v", out, ok, err)
	}
	// Closed: every other append fails, an expectation included; the
	// retry of an append stored before the close is still its duplicate.
	for what, opts := range map[string][]eventstore.AppendOption{
		"close expecting the version": {eventstore.WithClose(), eventstore.ExpectVersion(2)},
		"another command id":          {eventstore.WithCommandID("close-2")},
		"a close with events":         {eventstore.WithClose()},
	} {
		if _, err := s.Append(ctx, "ce/1", evs(1, 9), opts...); !errors.Is(err, eventstore.ErrStreamClosed) {
			t.Errorf("%s: %v", what, err)
		}
	}
	if _, err := s.Append(ctx, "ce/1", nil, eventstore.WithClose(), eventstore.ExpectVersion(2)); !errors.Is(err, eventstore.ErrStreamClosed) {
		t.Errorf("a close expecting the version of a closed stream: %v", err)
	}
	if _, err := s.Append(ctx, "ce/1", nil); !errors.Is(err, eventstore.ErrInvalidEvent) {
		t.Errorf("an append of nothing without a close: %v", err)
	}
}

// TestCloseEmptyStream: a stream with no events can be closed; it reads as
// empty, waits end at once, and a delete opens it again.
func TestCloseEmptyStream(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	res, err := s.Append(ctx, "ee/1", nil, eventstore.WithClose(), eventstore.ExpectNoStream())
	if err != nil || !res.Closed || res.Version != 0 || res.Offset() != "" {
		t.Fatalf("close: %+v %v", res, err)
	}
	check := func(s *eventstore.Store) {
		t.Helper()
		h, err := s.Head(ctx, "ee/1")
		if err != nil || !h.Closed || h.Version != 0 || h.Offset != eventstore.Start {
			t.Fatalf("head: %+v %v", h, err)
		}
		if got := collect(t, s.Read(ctx, "ee/1")); len(got) != 0 {
			t.Fatalf("read: %d events", len(got))
		}
		if h, err := s.WaitStream(ctx, "ee/1", eventstore.Start); err != nil || !h.Closed {
			t.Fatalf("wait: %+v %v", h, err)
		}
		if _, err := s.Append(ctx, "ee/1", evs(1, 0)); !errors.Is(err, eventstore.ErrStreamClosed) {
			t.Fatalf("append: %v", err)
		}
	}
	check(s)
	if err := s.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check(s)
	s.Close()
	s, err = eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s)
	if err := s.DeleteStream(ctx, "ee/1"); err != nil {
		t.Fatal(err)
	}
	if h, err := s.Head(ctx, "ee/1"); err != nil || h.Closed || h.Version != 0 {
		t.Fatalf("head after the delete: %+v %v", h, err)
	}
	if res, err := s.Append(ctx, "ee/1", evs(1, 0), eventstore.ExpectNoStream()); err != nil || res.Version != 1 || res.Closed {
		t.Fatalf("append after the delete: %+v %v", res, err)
	}
}

// TestDeleteClosedStreamReopens: a delete takes a stream's close, command
// ids and producers with it, across a Reindex and a reopen, without the
// open rebuilding the index (the deleted stream held the newest commit).
func TestDeleteClosedStreamReopens(t *testing.T) {
	ctx := context.Background()
	rec := &logRecorder{}
	s, dir := openStore(t, eventstore.WithLogger(rec.logger()))
	if _, err := s.Append(ctx, "dc/keep", evs(1, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "dc/1", evs(2, 0), eventstore.WithCommandID("cmd"), eventstore.WithProducer("p", 0, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "dc/1", nil, eventstore.WithClose()); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream(ctx, "dc/1"); err != nil {
		t.Fatal(err)
	}
	for round, reopen := range []func(){
		func() {},
		func() {
			if err := s.Reindex(ctx, nil); err != nil {
				t.Fatal(err)
			}
		},
		func() {
			s.Close()
			var err error
			if s, err = eventstore.Open(ctx, dir, eventstore.WithLogger(rec.logger())); err != nil {
				t.Fatal(err)
			}
		},
	} {
		reopen()
		if h, err := s.Head(ctx, "dc/1"); err != nil || h.Closed || h.Version != 0 {
			t.Fatalf("round %d: head %+v %v", round, h, err)
		}
		if _, ok, err := s.CommandOutcome(ctx, "dc/1", "cmd"); err != nil || ok {
			t.Fatalf("round %d: command outcome %v %v", round, ok, err)
		}
		if n := len(collect(t, s.ReadAll(ctx))); n != 1 {
			t.Fatalf("round %d: ReadAll has %d events", round, n)
		}
	}
	defer s.Close()
	res, err := s.Append(ctx, "dc/1", evs(1, 5), eventstore.WithCommandID("cmd"), eventstore.WithProducer("p", 0, 0))
	if err != nil || res.Duplicate || res.Version != 1 {
		t.Fatalf("append after the delete: %+v %v", res, err)
	}
	// Deleted again, with the tombstone as the log's newest message.
	if err := s.DeleteStream(ctx, "dc/1"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = eventstore.Open(ctx, dir, eventstore.WithLogger(rec.logger())); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if h, err := s.Head(ctx, "dc/1"); err != nil || h.Version != 0 {
		t.Fatalf("head after the second delete: %+v %v", h, err)
	}
	noSkips(t, rec)
}

// TestWaitStreamEnds: how each WaitStream ends: on an append, with Now, on
// a delete, on bad arguments, and with ErrClosed when the store closes.
func TestWaitStreamEnds(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	res, err := s.Append(ctx, "we/1", evs(2, 0))
	if err != nil {
		t.Fatal(err)
	}
	wait := func(stream string, after eventstore.Offset) chan error {
		ch := make(chan error, 1)
		ready := make(chan struct{})
		go func() {
			close(ready)
			h, err := s.WaitStream(ctx, stream, after)
			if err == nil && h.Offset <= after && after != eventstore.Now && h.Version > 0 {
				err = errors.New("returned a head at or before after: " + string(h.Offset))
			}
			ch <- err
		}()
		<-ready
		time.Sleep(20 * time.Millisecond)
		return ch
	}
	expect := func(what string, ch chan error, want error) {
		t.Helper()
		select {
		case err := <-ch:
			if !errors.Is(err, want) && err != want {
				t.Fatalf("%s: %v, want %v", what, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: still waiting", what)
		}
	}
	// At once: something after the offset already.
	if h, err := s.WaitStream(ctx, "we/1", res.Offsets[0]); err != nil || h.Offset != res.Offset() {
		t.Fatalf("wait with an event after: %+v %v", h, err)
	}
	if h, err := s.WaitStream(ctx, "we/1", "-1"); err != nil || h.Version != 2 {
		t.Fatalf("wait from -1: %+v %v", h, err)
	}
	// Now: only what comes after the call.
	now := wait("we/1", eventstore.Now)
	if _, err := s.Append(ctx, "we/1", evs(1, 2)); err != nil {
		t.Fatal(err)
	}
	expect("wait from Now", now, nil)
	// A delete ends the wait, with the head behind the offset.
	h, _ := s.Head(ctx, "we/1")
	del := make(chan eventstore.Head, 1)
	go func() {
		h, err := s.WaitStream(ctx, "we/1", h.Offset)
		if err != nil {
			t.Error(err)
		}
		del <- h
	}()
	time.Sleep(20 * time.Millisecond)
	if err := s.DeleteStream(ctx, "we/1"); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-del:
		if got.Version != 0 || got.Offset != eventstore.Start {
			t.Fatalf("wait over a delete: %+v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a delete did not end the wait")
	}
	// Bad arguments.
	for _, o := range []eventstore.Offset{"", "garbage", "00000000000000000001_000000"} {
		if _, err := s.WaitStream(ctx, "we/1", o); !errors.Is(err, eventstore.ErrInvalidOffset) {
			t.Errorf("offset %q: %v", o, err)
		}
	}
	if _, err := s.WaitStream(ctx, "bad//name", eventstore.Start); !errors.Is(err, eventstore.ErrInvalidStreamName) {
		t.Errorf("bad name: %v", err)
	}
	// The store closes under waiters.
	closing := []chan error{wait("we/1", eventstore.Start), wait("we/2", eventstore.Now)}
	start := time.Now()
	go s.Close()
	for _, ch := range closing {
		expect("wait when the store closes", ch, eventstore.ErrClosed)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("waits ended %v after Close", d)
	}
	if _, err := s.WaitStream(ctx, "we/1", eventstore.Start); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("wait on a closed store: %v", err)
	}
}

// TestWaitStreamAcrossStores: a store waiting on a stream is woken by
// another store's append and close, through its tailer.
func TestWaitStreamAcrossStores(t *testing.T) {
	ctx := context.Background()
	_, url := connServer(t)
	a, b := connStore(t, url), connStore(t, url)
	h, err := b.Head(ctx, "wa/1")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan eventstore.Head, 1)
	go func() {
		h, err := b.WaitStream(ctx, "wa/1", h.Offset)
		if err != nil {
			t.Error(err)
		}
		done <- h
	}()
	time.Sleep(20 * time.Millisecond)
	res, err := a.Append(ctx, "wa/1", evs(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case h := <-done:
		if h.Offset != res.Offset() {
			t.Fatalf("woke at %+v, want %s", h, res.Offset())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("another store's append did not wake the wait")
	}
	go func() {
		h, err := b.WaitStream(ctx, "wa/1", res.Offset())
		if err != nil {
			t.Error(err)
		}
		done <- h
	}()
	time.Sleep(20 * time.Millisecond)
	if _, err := a.Append(ctx, "wa/1", nil, eventstore.WithClose()); err != nil {
		t.Fatal(err)
	}
	select {
	case h := <-done:
		if !h.Closed || h.Offset != res.Offset() {
			t.Fatalf("woke at %+v, want closed at %s", h, res.Offset())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("another store's close did not wake the wait")
	}
	if _, err := b.Append(ctx, "wa/1", evs(1, 1)); !errors.Is(err, eventstore.ErrStreamClosed) {
		t.Fatalf("b appends to the stream a closed: %v", err)
	}
}

// TestMetadataNamesAndDelete: metadata takes the stream names streams take
// and no others, and a delete takes a stream's metadata with it; the next
// SetMetadata creates it again.
func TestMetadataNamesAndDelete(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	for _, name := range []string{"", "bad//name", "ctl\x01x", "/lead"} {
		if _, err := s.SetMetadata(ctx, name, map[string]string{"k": "v"}, 0); !errors.Is(err, eventstore.ErrInvalidStreamName) {
			t.Errorf("SetMetadata(%q): %v", name, err)
		}
		if _, err := s.Metadata(ctx, name); !errors.Is(err, eventstore.ErrInvalidStreamName) {
			t.Errorf("Metadata(%q): %v", name, err)
		}
	}
	// Names that differ only where a bucket key could not tell them apart.
	for _, name := range []string{"md/a.b", "md/a_b", "md/a-b", "md/ä"} {
		if _, err := s.SetMetadata(ctx, name, map[string]string{"name": name}, 0); err != nil {
			t.Fatalf("SetMetadata(%q): %v", name, err)
		}
	}
	for _, name := range []string{"md/a.b", "md/a_b", "md/a-b", "md/ä"} {
		if md, err := s.Metadata(ctx, name); err != nil || md.Values["name"] != name {
			t.Fatalf("Metadata(%q): %+v %v", name, md, err)
		}
	}
	rev, err := s.SetMetadata(ctx, "md/1", map[string]string{"k": "v"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream(ctx, "md/1"); err != nil { // metadata only, no events
		t.Fatal(err)
	}
	if md, err := s.Metadata(ctx, "md/1"); err != nil || md.Revision != 0 || len(md.Values) != 0 {
		t.Fatalf("metadata after the delete: %+v %v", md, err)
	}
	if _, err := s.SetMetadata(ctx, "md/1", map[string]string{"k": "v2"}, rev); !errors.Is(err, eventstore.ErrMetadataConflict) {
		t.Fatalf("update at the deleted revision: %v", err)
	}
	rev2, err := s.SetMetadata(ctx, "md/1", map[string]string{"k": "v3"}, 0)
	if err != nil {
		t.Fatalf("create after the delete: %v", err)
	}
	if md, err := s.Metadata(ctx, "md/1"); err != nil || md.Revision != rev2 || md.Values["k"] != "v3" {
		t.Fatalf("metadata made again: %+v %v", md, err)
	}
}

// TestMetadataAfterClose: a closed store's metadata calls fail with
// ErrClosed, as every other call does, rather than answer from the mirror
// that the close stopped keeping current.
func TestMetadataAfterClose(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	if _, err := s.SetMetadata(ctx, "mc/1", map[string]string{"k": "v"}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Metadata(ctx, "mc/1"); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("Metadata after Close: %v", err)
	}
	if _, err := s.MetadataStreams(ctx); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("MetadataStreams after Close: %v", err)
	}
	if _, err := s.SetMetadata(ctx, "mc/1", nil, 1); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("SetMetadata after Close: %v", err)
	}
}

// TestMetadataTooLarge: metadata that cannot fit in one message is refused
// with ErrTooLarge, as an append or a snapshot is, and changes nothing.
func TestMetadataTooLarge(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	big := map[string]string{"k": strings.Repeat("x", s.MaxAppendBytes())}
	if _, err := s.SetMetadata(ctx, "mt/1", big, 0); !errors.Is(err, eventstore.ErrTooLarge) {
		t.Fatalf("SetMetadata too large: %v", err)
	}
	if md, err := s.Metadata(ctx, "mt/1"); err != nil || md.Revision != 0 {
		t.Fatalf("metadata after the refusal: %+v %v", md, err)
	}
}
