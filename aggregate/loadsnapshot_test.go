package aggregate_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
)

// appendItems writes n events to instance id's stream with plain appends
// (no commands, so no snapshots): an order placed, then items of price
// price, ten events to an append.
func appendItems(t *testing.T, s *eventstore.Store, d *aggregate.Definition[order, orderEvent], id string, n, price int) {
	t.Helper()
	ctx := context.Background()
	stream, _ := d.Stream(id)
	all := []orderEvent{orderPlaced{Customer: "ada"}}
	for i := 1; i < n; i++ {
		all = append(all, itemAdded{SKU: fmt.Sprintf("sku-%d", i%7), Qty: 1, Price: price})
	}
	for len(all) > 0 {
		k := min(10, len(all))
		events, err := d.Encode(all[:k])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, stream, events); err != nil {
			t.Fatal(err)
		}
		all = all[k:]
	}
}

// foldFromScratch folds the stream's events up to version v with the
// definition alone: what any load must answer.
func foldFromScratch(t *testing.T, s *eventstore.Store, d *aggregate.Definition[order, orderEvent], id string, v uint64) order {
	t.Helper()
	stream, _ := d.Stream(id)
	state := d.Initial()
	for e, err := range s.Read(context.Background(), stream, eventstore.ToVersion(v)) {
		if err != nil {
			t.Fatal(err)
		}
		ev, err := d.Decode(e)
		if err != nil {
			t.Fatal(err)
		}
		state = d.Evolve(state, ev)
	}
	return state
}

// TestLoadTakesSnapshots: a load that replays a stream written by plain
// appends through the policy's marks leaves snapshots there, so the next
// load replays at most an interval; a load's snapshots are never used for
// the stream deleted and made again, even one written after the delete
// (a load's snapshot racing DeleteStream).
func TestLoadTakesSnapshots(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	d := defineOrders()
	appendItems(t, s, d, "long", 250, 3)
	repo, err := aggregate.NewRepository(s, d, aggregate.WithSnapshotEvery(100), aggregate.WithCache(0))
	if err != nil {
		t.Fatal(err)
	}
	l, err := repo.LoadVersion(ctx, "long", 240)
	if err != nil || l.Version != 240 || l.State.Total != 239*3 {
		t.Fatalf("LoadVersion 240: %+v, %v", l, err)
	}
	repo.Close() // waits for the snapshots asked for
	snaps, err := s.Snapshots(ctx, "orders/long/events")
	if err != nil || len(snaps) != 2 || snaps[0].Version != 100 || snaps[1].Version != 200 {
		t.Fatalf("snapshots after a load through 240: %+v, %v; want versions 100 and 200", snaps, err)
	}
	// The next load starts from the snapshot at 200.
	marked := snaps[1]
	marked.Data = []byte(`{"status":"from-snapshot","total":1}`)
	if err := s.SaveSnapshot(ctx, marked); err != nil {
		t.Fatal(err)
	}
	reader := newRepo(t, s, d, aggregate.WithCache(0))
	if l, err := reader.LoadVersion(ctx, "long", 210); err != nil || l.State.Status != "from-snapshot" || l.State.Total != 1+10*3 {
		t.Fatalf("LoadVersion 210: %+v, %v; want it from the snapshot at 200", l, err)
	}
	if err := s.SaveSnapshot(ctx, snaps[1]); err != nil {
		t.Fatal(err)
	}

	// Deleted and made again with other prices; the old snapshots saved
	// again after the delete, as a load's queued snapshot could be.
	if err := s.DeleteStream(ctx, "orders/long/events"); err != nil {
		t.Fatal(err)
	}
	appendItems(t, s, d, "long", 250, 5)
	for _, sn := range snaps {
		if err := s.SaveSnapshot(ctx, sn); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []uint64{100, 150, 200, 250} {
		l, err := reader.LoadVersion(ctx, "long", v)
		want := foldFromScratch(t, s, d, "long", v)
		if err != nil || l.Version != v || l.State.Total != want.Total || l.State.Total != int(v-1)*5 {
			t.Fatalf("after the stream was made again, LoadVersion %d: %+v, %v; want total %d", v, l, err, want.Total)
		}
	}
}

// TestCancelledLoadLogsNothing: a load whose caller gave up fails with
// the context's error and logs no "snapshot not loaded" warning (every
// cancelled load logged one, as if a snapshot had failed).
func TestCancelledLoadLogsNothing(t *testing.T) {
	s := openStore(t)
	var logs strings.Builder
	repo := newRepo(t, s, defineOrders(), aggregate.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if _, err := repo.Handle(t.Context(), "cancel-1", place("ada")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := repo.Load(ctx, "cancel-1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Load with a cancelled context: %v", err)
	}
	if strings.Contains(logs.String(), "snapshot not loaded") {
		t.Errorf("a cancelled load logged:\n%s", logs.String())
	}
}
