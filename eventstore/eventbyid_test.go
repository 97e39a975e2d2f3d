package eventstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/rewindhq/rewind/eventstore"
)

// TestEventByID: every event is found by its ID right after its append
// (an ID the store made and one the caller gave), with its stream,
// version, offset and data, in this process and from another process's
// append; after a rebuild of the index; and not after its stream is
// deleted (nor a stream made again with other events).
func TestEventByID(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t, eventstore.WithListen("127.0.0.1", 0))
	mine := uuid.Must(uuid.NewV7())
	if _, err := s.Append(ctx, "carts/a", evs(3, 1)); err != nil {
		t.Fatal(err)
	}
	given := ev("Given", `{"n":99}`)
	given.ID = mine
	if _, err := s.Append(ctx, "carts/b", []eventstore.Event{ev("First", `{}`), given}); err != nil {
		t.Fatal(err)
	}
	other, err := eventstore.Connect(ctx, s.ClientURL(), eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Append(ctx, "carts/c", evs(2, 7)); err != nil {
		t.Fatal(err)
	}
	var all []eventstore.Event
	for _, name := range []string{"carts/a", "carts/b", "carts/c"} {
		all = append(all, collect(t, s.Read(ctx, name))...)
	}
	check := func(when string) {
		t.Helper()
		for _, want := range all {
			got, err := s.EventByID(ctx, want.ID)
			if err != nil {
				t.Fatalf("%s: EventByID(%s) of %s v%d: %v", when, want.ID, want.Stream, want.Version, err)
			}
			if got.Stream != want.Stream || got.Version != want.Version || got.Offset != want.Offset ||
				got.Type != want.Type || string(got.Data) != string(want.Data) || !got.StoredAt.Equal(want.StoredAt) {
				t.Fatalf("%s: EventByID(%s) = %+v, want %+v", when, want.ID, got, want)
			}
		}
	}
	check("after the appends")
	if got, err := s.EventByID(ctx, mine); err != nil || got.Stream != "carts/b" || got.Version != 2 {
		t.Fatalf("the caller's ID: %+v, %v", got, err)
	}
	if _, err := s.EventByID(ctx, uuid.Must(uuid.NewV7())); !errors.Is(err, eventstore.ErrNotFound) {
		t.Fatalf("an unknown ID: %v, want ErrNotFound", err)
	}
	if err := s.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check("after a rebuild of the index")

	// Deleted, then made again: the old events are not found, the new ones are.
	if err := s.DeleteStream(ctx, "carts/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "carts/a", evs(3, 100)); err != nil {
		t.Fatal(err)
	}
	for _, e := range all[:3] {
		if got, err := s.EventByID(ctx, e.ID); !errors.Is(err, eventstore.ErrNotFound) {
			t.Fatalf("an event of the deleted stream: %+v, %v; want ErrNotFound", got, err)
		}
	}
	for _, e := range collect(t, s.Read(ctx, "carts/a")) {
		if got, err := s.EventByID(ctx, e.ID); err != nil || got.Version != e.Version || string(got.Data) != string(e.Data) {
			t.Fatalf("an event of the stream made again: %+v, %v; want %+v", got, err, e)
		}
	}
	all = all[3:]
	check("after the delete")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EventByID(ctx, mine); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("EventByID on a closed store: %v", err)
	}
}

// TestEventByIDNewestOfTwo: events appended again with the IDs the store
// gave another append's events (a run of consecutive IDs, stored twice)
// are found as the newer ones, the older commit's run notwithstanding.
func TestEventByIDNewestOfTwo(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	if _, err := s.Append(ctx, "copies/a", evs(20, 1)); err != nil {
		t.Fatal(err)
	}
	first := collect(t, s.Read(ctx, "copies/a"))
	again := evs(20, 500)
	for i := range again {
		again[i].ID = first[i].ID
	}
	if _, err := s.Append(ctx, "copies/b", again); err != nil {
		t.Fatal(err)
	}
	for i, e := range collect(t, s.Read(ctx, "copies/b")) {
		got, err := s.EventByID(ctx, first[i].ID)
		if err != nil || got.Stream != "copies/b" || got.Version != e.Version || string(got.Data) != string(e.Data) {
			t.Fatalf("EventByID(%s): %+v, %v; want %+v", first[i].ID, got, err, e)
		}
	}
}

// TestEventByIDNewestDeleted: of two events stored with one ID, the newer
// is found; once its stream is deleted, the ID finds the older one or
// nothing (the index keeps one place per ID), never the deleted event.
func TestEventByIDNewestDeleted(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	id := uuid.Must(uuid.NewV7())
	older := []eventstore.Event{ev("A", `{}`), {ID: id, Type: "Older"}, ev("C", `{}`)}
	if _, err := s.Append(ctx, "twice/a", older); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "twice/b", []eventstore.Event{{ID: id, Type: "Newer"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.EventByID(ctx, id); err != nil || got.Stream != "twice/b" {
		t.Fatalf("EventByID before the delete: %+v, %v", got, err)
	}
	if err := s.DeleteStream(ctx, "twice/b"); err != nil {
		t.Fatal(err)
	}
	got, err := s.EventByID(ctx, id)
	if err == nil && (got.Stream != "twice/a" || got.Type != "Older") {
		t.Fatalf("EventByID after the newer's delete: %+v", got)
	}
	if err != nil && !errors.Is(err, eventstore.ErrNotFound) {
		t.Fatalf("EventByID after the newer's delete: %v", err)
	}
}
