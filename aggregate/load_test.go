package aggregate_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/aggregate/aggregatetest"
	"github.com/rewindhq/rewind/eventstore"
)

// TestCacheAfterDeleteStream: a stream deleted and made again elsewhere
// (another store on the server) up to the same version is never decided
// on as its former self from a repository's cache.
func TestCacheAfterDeleteStream(t *testing.T) {
	ctx := context.Background()
	a := openStore(t, eventstore.WithListen("127.0.0.1", 0))
	b, err := eventstore.Connect(ctx, a.ClientURL(), eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	repoA := newRepo(t, a, defineOrders())
	repoB := newRepo(t, b, defineOrders())
	for _, d := range []func(order) ([]orderEvent, error){place("ada"), addItem("pen", 20, 5)} {
		if _, err := repoA.Handle(ctx, "del", d); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.DeleteStream(ctx, "orders/del/events"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []func(order) ([]orderEvent, error){place("bob"), addItem("mug", 1, 5)} {
		if _, err := repoB.Handle(ctx, "del", d); err != nil {
			t.Fatal(err)
		}
	}
	// repoA's cache holds version 2 with a total of 100; the stream is at
	// version 2 with a total of 5.
	var decidedOn int
	res, err := repoA.Handle(ctx, "del", func(o order) ([]orderEvent, error) {
		decidedOn = o.Total
		return []orderEvent{orderPaid{Amount: o.Total}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if decidedOn != 5 || res.Events[0].(orderPaid).Amount != 5 {
		t.Fatalf("decided on a total of %d (paid %+v); want the new stream's 5", decidedOn, res.Events)
	}
	// Nor with a refusal, which has no events to check.
	if _, err := repoA.Handle(ctx, "del2", place("x")); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteStream(ctx, "orders/del2/events"); err != nil {
		t.Fatal(err)
	}
	if _, err := repoA.Handle(ctx, "del2", place("y"), aggregate.CommandID("again")); err != nil {
		t.Fatalf("place on the deleted stream, from a cache that says placed: %v", err)
	}
}

// tally is an aggregate whose one event changed meaning: at schema 1 an
// "Added" counted units, at schema 2 cents (the upcaster multiplies).
type tally struct {
	N int `json:"n"`
}

type tallyEvent interface{ isTally() }

type added struct {
	N int `json:"n"`
}

func (added) isTally() {}

func defineTally(cents bool) *aggregate.Definition[tally, tallyEvent] {
	d := aggregate.Define[tally, tallyEvent]("tally", tally{})
	var opts []aggregate.EventOption
	if cents {
		opts = append(opts, aggregate.Schema(2), aggregate.Upcaster(1, func(data []byte) ([]byte, error) {
			var e added
			if err := json.Unmarshal(data, &e); err != nil {
				return nil, err
			}
			return json.Marshal(added{N: e.N * 100})
		}))
	}
	aggregate.On(d, "Added", func(s tally, e added) tally { s.N += e.N; return s }, opts...)
	return d
}

// TestSnapshotAfterUpcasterChange: after an event type moves to a new
// schema with an upcaster that changes its meaning, no load returns the
// old fold from a snapshot, and deleting every snapshot changes no result.
func TestSnapshotAfterUpcasterChange(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	old, err := aggregate.NewRepository(s, defineTally(false), aggregate.WithSnapshotEvery(3))
	if err != nil {
		t.Fatal(err)
	}
	const n = 12
	for range n {
		if _, err := old.Handle(ctx, "t", func(tally) ([]tallyEvent, error) { return []tallyEvent{added{N: 1}}, nil }); err != nil {
			t.Fatal(err)
		}
	}
	// Close waits for the snapshots asked for; one more is taken by hand,
	// whatever the writer managed on a loaded machine.
	old.Close()
	if err := old.Snapshot(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	oldSnaps, err := old.Snapshots(ctx, "t")
	if err != nil || len(oldSnaps) == 0 || !oldSnaps[0].Usable {
		t.Fatalf("snapshots of the old fold: %+v, %v", oldSnaps, err)
	}
	repo := newRepoOf(t, s, defineTally(true))
	if snaps, err := repo.Snapshots(ctx, "t"); err != nil || len(snaps) != len(oldSnaps) || snaps[0].Usable {
		t.Fatalf("the old fold's snapshots seen by the new one: %+v, %v; want listed, not usable", snaps, err)
	}
	results := func() []int {
		var out []int
		for v := uint64(1); v <= n; v++ {
			l, err := repo.LoadVersion(ctx, "t", v)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, l.State.N)
		}
		l, err := repo.Load(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		return append(out, l.State.N)
	}
	got := results()
	for v := 1; v <= n; v++ {
		if got[v-1] != v*100 {
			t.Fatalf("LoadVersion(%d) = %d, want %d (the new fold)", v, got[v-1], v*100)
		}
	}
	if got[n] != n*100 {
		t.Fatalf("Load = %d, want %d", got[n], n*100)
	}
	if err := s.DeleteSnapshots(ctx, "tally/t/events"); err != nil {
		t.Fatal(err)
	}
	if again := results(); strings.Join(ints(again), ",") != strings.Join(ints(got), ",") {
		t.Fatalf("without snapshots: %v, with: %v", again, got)
	}
}

func ints(v []int) []string {
	out := make([]string, len(v))
	for i, n := range v {
		out[i] = strconv.Itoa(n)
	}
	return out
}

func newRepoOf[S, E any](t testing.TB, s *eventstore.Store, d *aggregate.Definition[S, E], opts ...aggregate.Option) *aggregate.Repository[S, E] {
	t.Helper()
	r, err := aggregate.NewRepository(s, d, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestLoadInvalidID: every load refuses an id that cannot name a stream,
// version 0 included.
func TestLoadInvalidID(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t, openStore(t), defineOrders())
	for _, id := range []string{"", ".", "..", "a/b", "a\x00b", "\xff", strings.Repeat("x", aggregate.MaxIDLen+1)} {
		for name, load := range map[string]func() error{
			"LoadVersion 0": func() error { _, err := repo.LoadVersion(ctx, id, 0); return err },
			"LoadVersion 1": func() error { _, err := repo.LoadVersion(ctx, id, 1); return err },
			"Load":          func() error { _, err := repo.Load(ctx, id); return err },
			"LoadAt":        func() error { _, err := repo.LoadAt(ctx, id, time.Now()); return err },
			"Snapshots":     func() error { _, err := repo.Snapshots(ctx, id); return err },
		} {
			if err := load(); !errors.Is(err, aggregate.ErrInvalidID) {
				t.Errorf("%s(%q): %v, want ErrInvalidID", name, id, err)
			}
		}
	}
}

// TestCategoryInvalid: a category that cannot name a stream fails the
// definition and NewRepository, not the first command.
func TestCategoryInvalid(t *testing.T) {
	s := openStore(t)
	for _, c := range []string{"", ".", "..", "a/b", "bad\x01", "\xff"} {
		d := aggregate.Define[order, orderEvent](c, order{})
		if !errors.Is(d.Err(), aggregate.ErrDefinition) {
			t.Errorf("Define(%q).Err() = %v, want ErrDefinition", c, d.Err())
		}
		if _, err := aggregate.NewRepository(s, d); !errors.Is(err, aggregate.ErrDefinition) {
			t.Errorf("NewRepository of category %q: %v, want ErrDefinition", c, err)
		}
	}
}

// TestSnapshotEveryZeroUsesSnapshots: WithSnapshotEvery(0) takes no
// snapshot, but loads still start from the ones there are.
func TestSnapshotEveryZeroUsesSnapshots(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	writer := newRepo(t, s, defineOrders(), aggregate.WithSnapshotEvery(0))
	for _, d := range []func(order) ([]orderEvent, error){place("ada"), addItem("pen", 2, 5)} {
		if _, err := writer.Handle(ctx, "z", d); err != nil {
			t.Fatal(err)
		}
	}
	if snaps, err := writer.Snapshots(ctx, "z"); err != nil || len(snaps) != 0 {
		t.Fatalf("WithSnapshotEvery(0) took snapshots: %+v, %v", snaps, err)
	}
	if err := writer.Snapshot(ctx, "z"); err != nil {
		t.Fatal(err)
	}
	// A marked copy of that snapshot shows whether a load starts from it.
	kept, err := s.Snapshots(ctx, "orders/z/events")
	if err != nil || len(kept) != 1 {
		t.Fatalf("snapshots: %+v, %v", kept, err)
	}
	marked := kept[0]
	marked.Data = []byte(`{"status":"from-snapshot","total":10}`)
	if err := s.SaveSnapshot(ctx, marked); err != nil {
		t.Fatal(err)
	}
	reader := newRepo(t, s, defineOrders(), aggregate.WithSnapshotEvery(0), aggregate.WithCache(0))
	if l, err := reader.Load(ctx, "z"); err != nil || l.State.Status != "from-snapshot" || l.Version != 2 {
		t.Fatalf("load with WithSnapshotEvery(0): %+v, %v; want it from the snapshot", l, err)
	}
}

// TestOptionsWithoutTypeArguments: repository options and aggregatetest's
// Given need no type arguments; WithClone of another state type is
// refused.
func TestOptionsWithoutTypeArguments(t *testing.T) {
	s := openStore(t)
	newRepo(t, s, defineOrders(), aggregate.WithSnapshotEvery(4), aggregate.WithCache(10), aggregate.WithMaxAttempts(2),
		aggregate.WithClone(func(o order) order { return o }))
	if _, err := aggregate.NewRepository(s, defineOrders(), aggregate.WithClone(func(n int) int { return n })); !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Fatalf("WithClone of another type: %v, want ErrInvalidOption", err)
	}
	aggregatetest.Given(defineOrders(), orderPlaced{Customer: "ada"}, itemAdded{SKU: "pen", Qty: 1, Price: 2}).
		When(addItem("pen", 1, 2)).Then(t, itemAdded{SKU: "pen", Qty: 1, Price: 2})
	// Then() with no events takes an empty, non-nil slice.
	aggregatetest.Given(defineOrders(), orderPlaced{}, orderPaid{}).
		When(func(order) ([]orderEvent, error) { return []orderEvent{}, nil }).Then(t)
}

// TestErrorsQuoteStreams: error messages quote stream names.
func TestErrorsQuoteStreams(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t, openStore(t), defineOrders())
	_, err := repo.LoadVersion(ctx, "q", 3)
	if !errors.Is(err, aggregate.ErrNoVersion) || !strings.Contains(err.Error(), `"orders/q/events"`) {
		t.Fatalf("ErrNoVersion: %v; want the stream quoted", err)
	}
	_, err = repo.Handle(ctx, "q", nil)
	if !strings.Contains(err.Error(), `"orders/q/events"`) {
		t.Fatalf("Handle error: %v; want the stream quoted", err)
	}
}
