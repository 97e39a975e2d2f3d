package eventstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// TestEventIDRunKeys: a commit whose events the store gave IDs has one
// 'E' key per run of at most maxIDRun of them and no 'e' key; an event
// with the caller's ID has its 'e' key; EventByID finds every event
// either way; a tombstone takes the keys of the stream's commits out.
func TestEventIDRunKeys(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	batch := func(n int) []Event {
		evs := make([]Event, n)
		for i := range evs {
			evs[i] = Event{Type: "Tick", Data: fmt.Appendf(nil, `{"i":%d}`, i)}
		}
		return evs
	}
	if _, err := s.Append(ctx, "runs/a", batch(100)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "runs/b", batch(maxIDRun+5)); err != nil { // two runs
		t.Fatal(err)
	}
	mixed := batch(4)
	mixed[1].ID = uuid.New() // version 4: an 'e' key of its own
	mixed[2].ID = uuid.Must(uuid.NewV7())
	if _, err := s.Append(ctx, "runs/c", mixed); err != nil {
		t.Fatal(err)
	}
	count := func() (e, runs int) {
		t.Helper()
		target, err := s.readTarget(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = s.withIndex(ctx, target, func(x *index, _ uint64) error {
			for _, p := range []byte{'e', 'E'} {
				it, err := x.db.NewIter(&pebble.IterOptions{LowerBound: []byte{p}, UpperBound: []byte{p + 1}})
				if err != nil {
					return err
				}
				for ok := it.First(); ok; ok = it.Next() {
					if p == 'e' {
						e++
					} else {
						runs++
					}
				}
				if err := it.Close(); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return e, runs
	}
	// runs/a: one run; runs/b: two; runs/c: the first event, then the
	// caller's two IDs, then the last event: four 'e' keys (a run of one
	// is an 'e' key).
	if e, runs := count(); e != 4 || runs != 3 {
		t.Fatalf("%d 'e' keys and %d 'E' keys; want 4 and 3", e, runs)
	}
	for _, name := range []string{"runs/a", "runs/b", "runs/c"} {
		for ev, err := range s.Read(ctx, name) {
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.EventByID(ctx, ev.ID)
			if err != nil || got.Stream != name || got.Version != ev.Version || string(got.Data) != string(ev.Data) {
				t.Fatalf("EventByID(%s) of %s v%d: %+v, %v", ev.ID, name, ev.Version, got, err)
			}
		}
	}
	if err := s.DeleteStream(ctx, "runs/b"); err != nil {
		t.Fatal(err)
	}
	if e, runs := count(); e != 4 || runs != 1 {
		t.Fatalf("after deleting runs/b: %d 'e' keys and %d 'E' keys; want 4 and 1", e, runs)
	}
}

// TestIDsOfOneAppendConsecutive: fill gives the events without an ID
// consecutive time fields, one reservation for them all, whatever other
// goroutines take meanwhile, and leaves the caller's IDs alone.
func TestIDsOfOneAppendConsecutive(t *testing.T) {
	g := newIDGen()
	given := uuid.New()
	done := make(chan []Event)
	for range 8 {
		go func() {
			evs := make([]Event, 50)
			for range 20 {
				clear(evs)
				evs[10].ID = given
				g.fill(evs, time.Now())
			}
			done <- evs
		}()
	}
	for range 8 {
		evs := <-done
		if evs[10].ID != given {
			t.Fatalf("the caller's ID was replaced by %s", evs[10].ID)
		}
		first, _ := idTime(evs[0].ID)
		for i, e := range evs {
			if i == 10 {
				continue
			}
			checkV7(t, e.ID)
			want := first + uint64(i)
			if i > 10 {
				want--
			}
			if got, _ := idTime(e.ID); got != want {
				t.Fatalf("event %d: time field %d, want %d", i, got, want)
			}
		}
	}
}
