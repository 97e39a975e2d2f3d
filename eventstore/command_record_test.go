package eventstore_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/eventstore"
)

// TestCommandRecordWithoutEvents: an append with a command id and no events
// stores the record of the command and nothing else: the version does not
// move, no read yields anything for it, the next append goes after it, and
// the id (with its data) is a duplicate from then on — in this process,
// in another process on the same server, after a restart and after a
// rebuild of the index.
func TestCommandRecordWithoutEvents(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := eventstore.Open(ctx, dir, eventstore.WithListen("127.0.0.1", 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "rec/1", evs(2, 0)); err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"outcome":"refused"}`)
	rec, err := s.Append(ctx, "rec/1", nil, eventstore.WithCommandID("c-1"), eventstore.WithCommandData(data),
		eventstore.ExpectVersion(2))
	if err != nil || rec.Duplicate || rec.Version != 2 || len(rec.Offsets) != 0 {
		t.Fatalf("record: %+v, %v; want version 2, no offsets", rec, err)
	}
	other, err := eventstore.Connect(ctx, s.ClientURL(), eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// The next append expects the record as the subject's last message:
	// from this store and from another.
	if _, err := s.Append(ctx, "rec/1", evs(1, 2), eventstore.ExpectVersion(2)); err != nil {
		t.Fatalf("append after the record: %v", err)
	}
	if _, err := other.Append(ctx, "rec/1", evs(1, 3), eventstore.ExpectVersion(3)); err != nil {
		t.Fatalf("append from another store after the record: %v", err)
	}
	check := func(when string, st *eventstore.Store) {
		t.Helper()
		again, err := st.Append(ctx, "rec/1", evs(1, 100), eventstore.WithCommandID("c-1"))
		if err != nil || !again.Duplicate || again.Version != 2 || len(again.Offsets) != 0 || !bytes.Equal(again.CommandData, data) {
			t.Fatalf("%s: again: %+v, %v; want the record's outcome (version 2, its data)", when, again, err)
		}
		out, found, err := st.CommandOutcome(ctx, "rec/1", "c-1")
		if err != nil || !found || !bytes.Equal(out.CommandData, data) || out.Version != 2 {
			t.Fatalf("%s: CommandOutcome: %+v, %v, %v", when, out, found, err)
		}
		got := collect(t, st.Read(ctx, "rec/1"))
		if len(got) != 4 || got[3].Version != 4 {
			t.Fatalf("%s: the stream reads %s; want 4 events", when, describe(got))
		}
		if h, err := st.Head(ctx, "rec/1"); err != nil || h.Version != 4 {
			t.Fatalf("%s: head %+v, %v", when, h, err)
		}
	}
	check("same process", s)
	check("another process", other)
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = openStoreAt(t, dir)
	check("after a restart", s)
	if err := s.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check("after a rebuild", s)
	// A record on a stream with no events, then its first events.
	if _, err := s.Append(ctx, "rec/2", nil, eventstore.WithCommandID("nothing")); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Append(ctx, "rec/2", evs(1, 0), eventstore.ExpectVersion(0)); err != nil || res.Version != 1 {
		t.Fatalf("first events after a record: %+v, %v", res, err)
	}
}

// TestCommandDataInvalid: data without a command id, or too much of it, is
// refused and stores nothing; an append without events and without a
// command id is still refused.
func TestCommandDataInvalid(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	for name, opts := range map[string][]eventstore.AppendOption{
		"no id":    {eventstore.WithCommandData([]byte("x"))},
		"too long": {eventstore.WithCommandID("c"), eventstore.WithCommandData([]byte(strings.Repeat("x", eventstore.MaxCommandDataLen+1)))},
	} {
		if _, err := s.Append(ctx, "bad/1", evs(1, 0), opts...); !errors.Is(err, eventstore.ErrInvalidOption) {
			t.Fatalf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
	if _, err := s.Append(ctx, "bad/1", nil); !errors.Is(err, eventstore.ErrInvalidEvent) {
		t.Fatalf("no events, no command id: %v, want ErrInvalidEvent", err)
	}
	if h, _ := s.Head(ctx, "bad/1"); h.Version != 0 {
		t.Fatalf("stored %d events", h.Version)
	}
}

// TestExpectLastRemade: ExpectLast tells a stream deleted and made again up
// to the same version (by another store) from the one read.
func TestExpectLastRemade(t *testing.T) {
	ctx := context.Background()
	a, _ := openStore(t, eventstore.WithListen("127.0.0.1", 0))
	b, err := eventstore.Connect(ctx, a.ClientURL(), eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	first, err := a.Append(ctx, "remade/1", evs(2, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteStream(ctx, "remade/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, "remade/1", evs(2, 10)); err != nil {
		t.Fatal(err)
	}
	_, err = a.Append(ctx, "remade/1", evs(1, 20), eventstore.ExpectVersion(2), eventstore.ExpectLast(first.Offset()))
	var ce *eventstore.ConcurrencyError
	if !errors.As(err, &ce) || !ce.Remade || ce.Actual != 2 {
		t.Fatalf("append on the remade stream: %v; want a *ConcurrencyError with Remade", err)
	}
	got := collect(t, a.Read(ctx, "remade/1"))
	if len(got) != 2 {
		t.Fatalf("stream reads %s; want the 2 events of the new stream", describe(got))
	}
	if _, err := a.Append(ctx, "remade/1", evs(1, 20), eventstore.ExpectVersion(2), eventstore.ExpectLast(got[1].Offset)); err != nil {
		t.Fatalf("append expecting the new last event: %v", err)
	}
	if _, err := a.Append(ctx, "remade/2", evs(1, 0), eventstore.ExpectLast("")); err != nil {
		t.Fatalf("ExpectLast(\"\") on an empty stream: %v", err)
	}
}

// TestExpectLastNotAnOffset: ExpectLast with a string the store never
// hands out is ErrInvalidOffset, not a conflict that names versions
// nobody expected; nothing is stored.
func TestExpectLastNotAnOffset(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	if _, err := s.Append(ctx, "el/old", evs(1, 0)); err != nil {
		t.Fatal(err)
	}
	for _, stream := range []string{"el/new", "el/old"} {
		for _, last := range []eventstore.Offset{"garbage", eventstore.Now, "00000000000000000001_000000", "00000000000000000000_000001"} {
			_, err := s.Append(ctx, stream, evs(1, 0), eventstore.ExpectLast(last))
			if !errors.Is(err, eventstore.ErrInvalidOffset) || errors.Is(err, eventstore.ErrConcurrency) {
				t.Errorf("ExpectLast(%q) on %s: %v, want ErrInvalidOffset", last, stream, err)
			}
		}
	}
	if tail, _ := s.Tail(ctx); tail != "00000000000000000001_999999" {
		t.Errorf("the refused appends stored something: tail %s", tail)
	}
}
