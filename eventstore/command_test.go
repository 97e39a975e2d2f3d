package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/rewindhq/rewind/eventstore"
)

// sameOutcome compares two results of one command: versions, offsets and
// store time (Duplicate aside).
func sameOutcome(a, b eventstore.AppendResult) bool {
	return a.Stream == b.Stream && a.FirstVersion == b.FirstVersion && a.Version == b.Version &&
		reflect.DeepEqual(a.Offsets, b.Offsets) && a.StoredAt.Equal(b.StoredAt)
}

// TestCommandIDOnce: an append with a command id already recorded in the
// stream stores nothing and returns the first append's result, in this
// process, after a restart and after a rebuild of the index; whatever the
// stream's version is by then and whatever the append expects.
func TestCommandIDOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Append(ctx, "cmd/1", evs(3, 0), eventstore.WithCommandID("place-1"), eventstore.ExpectVersion(0))
	if err != nil || first.Duplicate {
		t.Fatalf("first append: %+v, %v", first, err)
	}
	if _, err := s.Append(ctx, "cmd/1", evs(2, 3), eventstore.WithCommandID("add-1")); err != nil {
		t.Fatal(err)
	}
	// Another stream has its own ids.
	if res, err := s.Append(ctx, "cmd/2", evs(1, 0), eventstore.WithCommandID("place-1")); err != nil || res.Duplicate {
		t.Fatalf("same id on another stream: %+v, %v", res, err)
	}
	check := func(when string) {
		t.Helper()
		for _, opts := range [][]eventstore.AppendOption{
			{eventstore.WithCommandID("place-1")},
			{eventstore.WithCommandID("place-1"), eventstore.ExpectVersion(0)}, // stale: the outcome, not a conflict
		} {
			again, err := s.Append(ctx, "cmd/1", evs(3, 100), opts...)
			if err != nil || !again.Duplicate || !sameOutcome(again, first) {
				t.Fatalf("%s: again: %+v, %v; want the first result %+v", when, again, err, first)
			}
		}
		if h, err := s.Head(ctx, "cmd/1"); err != nil || h.Version != 5 {
			t.Fatalf("%s: head %+v, %v; want version 5", when, h, err)
		}
	}
	check("same process")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = openStoreAt(t, dir)
	check("after a restart")
	if err := s.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check("after a rebuild")
	if got := len(collect(t, s.Read(ctx, "cmd/1"))); got != 5 {
		t.Fatalf("stream holds %d events, want 5", got)
	}
}

// TestCommandIDManyCommands: ids stay deduplicated beyond what a stream's
// cached state remembers.
func TestCommandIDManyCommands(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	var results []eventstore.AppendResult
	for i := range 1500 {
		res, err := s.Append(ctx, "many/1", evs(1, i), eventstore.WithCommandID(fmt.Sprint("c", i)))
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	for _, i := range []int{0, 1, 700, 1023, 1024, 1499} {
		res, err := s.Append(ctx, "many/1", evs(1, 0), eventstore.WithCommandID(fmt.Sprint("c", i)))
		if err != nil || !res.Duplicate || !sameOutcome(res, results[i]) {
			t.Fatalf("command %d again: %+v, %v; want %+v", i, res, err, results[i])
		}
	}
}

// TestCommandIDConcurrent: the same command from many goroutines, and from
// two stores on one server, at once: it is stored once, and every caller
// gets that one outcome.
func TestCommandIDConcurrent(t *testing.T) {
	ctx := context.Background()
	a, _ := openStore(t, eventstore.WithListen("127.0.0.1", 0))
	b, err := eventstore.Connect(ctx, a.ClientURL(), eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	for round := range 20 {
		stream := fmt.Sprintf("race/%d", round)
		id := fmt.Sprint("cmd-", round)
		// Some history first, so that the racers' cached heads differ.
		if _, err := a.Append(ctx, stream, evs(1, 0)); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var results []eventstore.AppendResult
		var wg sync.WaitGroup
		for g := range 16 {
			s := []*eventstore.Store{a, b}[g%2]
			wg.Go(func() {
				res, err := s.Append(ctx, stream, evs(2, g*10), eventstore.WithCommandID(id))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
			})
		}
		wg.Wait()
		stored := 0
		for _, r := range results {
			if !r.Duplicate {
				stored++
			}
			if !sameOutcome(r, results[0]) {
				t.Fatalf("round %d: outcomes differ: %+v and %+v", round, r, results[0])
			}
		}
		if stored != 1 {
			t.Fatalf("round %d: %d appends stored, want 1", round, stored)
		}
		for _, s := range []*eventstore.Store{a, b} {
			if got := len(collect(t, s.Read(ctx, stream))); got != 3 {
				t.Fatalf("round %d: stream holds %d events, want 3", round, got)
			}
		}
	}
}

// TestCommandOutcomeThenAppend: a command id CommandOutcome found
// unrecorded, then appended (as aggregate.Handle does: look up, decide,
// append), is still stored once when the same id is appended in between:
// by the same store, by another goroutine that checked it too, or by
// another store on the same server, which this store's cached head does not
// know of yet.
func TestCommandOutcomeThenAppend(t *testing.T) {
	ctx := context.Background()
	a, _ := openStore(t, eventstore.WithListen("127.0.0.1", 0))
	b, err := eventstore.Connect(ctx, a.ClientURL(), eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	for _, between := range []*eventstore.Store{a, b} {
		for round := range 5 {
			stream := fmt.Sprintf("checked/%p/%d", between, round)
			id := fmt.Sprint("cmd-", round)
			if _, err := a.Append(ctx, stream, evs(1, 0)); err != nil {
				t.Fatal(err)
			}
			if _, found, err := a.CommandOutcome(ctx, stream, id); err != nil || found {
				t.Fatalf("CommandOutcome before any append: found %v, %v", found, err)
			}
			first, err := between.Append(ctx, stream, evs(2, 10), eventstore.WithCommandID(id))
			if err != nil || first.Duplicate {
				t.Fatalf("the append in between: %+v, %v", first, err)
			}
			again, err := a.Append(ctx, stream, evs(2, 20), eventstore.WithCommandID(id))
			if err != nil || !again.Duplicate || !sameOutcome(again, first) {
				t.Fatalf("the append after the check: %+v, %v; want the duplicate of %+v", again, err, first)
			}
			if got := len(collect(t, a.Read(ctx, stream))); got != 3 {
				t.Fatalf("stream holds %d events, want 3", got)
			}
		}
	}
	// Goroutines that each check the id and then append it: one stores.
	for round := range 10 {
		stream := fmt.Sprintf("checked-race/%d", round)
		id := fmt.Sprint("cmd-", round)
		var mu sync.Mutex
		stored := 0
		var wg sync.WaitGroup
		for g := range 8 {
			s := []*eventstore.Store{a, b}[g%2]
			wg.Go(func() {
				if _, found, err := s.CommandOutcome(ctx, stream, id); err != nil || found {
					return // a later checker may see the winner's commit
				}
				res, err := s.Append(ctx, stream, evs(1, g), eventstore.WithCommandID(id))
				if err != nil {
					t.Error(err)
					return
				}
				if !res.Duplicate {
					mu.Lock()
					stored++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if stored != 1 {
			t.Fatalf("round %d: %d appends stored, want 1", round, stored)
		}
		if got := len(collect(t, a.Read(ctx, stream))); got != 1 {
			t.Fatalf("round %d: stream holds %d events, want 1", round, got)
		}
	}
}

// TestCommandIDInvalid: an id longer than MaxCommandIDLen, or empty, is
// refused and stores nothing, with events or without; CommandOutcome
// refuses the same ids.
func TestCommandIDInvalid(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	for _, id := range []string{strings.Repeat("x", eventstore.MaxCommandIDLen+1), ""} {
		for _, events := range [][]eventstore.Event{evs(1, 0), nil} {
			_, err := s.Append(ctx, "bad/1", events, eventstore.WithCommandID(id))
			if !errors.Is(err, eventstore.ErrInvalidOption) {
				t.Fatalf("command id of %d bytes, %d events: %v, want ErrInvalidOption", len(id), len(events), err)
			}
		}
		if _, _, err := s.CommandOutcome(ctx, "bad/1", id); !errors.Is(err, eventstore.ErrInvalidOption) {
			t.Fatalf("CommandOutcome of an id of %d bytes: %v, want ErrInvalidOption", len(id), err)
		}
	}
	if h, _ := s.Head(ctx, "bad/1"); h.Version != 0 {
		t.Fatalf("stored %d events", h.Version)
	}
	if tail, _ := s.Tail(ctx); tail != eventstore.Start {
		t.Fatalf("the log holds a commit: tail %s", tail)
	}
}
