package seed_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/examples/orders/seed"
)

// history is what a seeded store holds, without the event ids.
type event struct {
	Stream, Type, Data string
	Version            uint64
	StoredAt           time.Time
}

func history(t *testing.T, dir string) []event {
	t.Helper()
	ctx := context.Background()
	store, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var out []event
	for e, err := range store.ReadAll(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, event{e.Stream, e.Type, string(e.Data), e.Version, e.StoredAt})
	}
	return out
}

func TestSeedIsDeterministicAndInThePast(t *testing.T) {
	end := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	cfg := seed.Config{Orders: 50, Days: 7, Rand: 42, End: end, Location: time.UTC}
	ctx := context.Background()
	dirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
	var reports []seed.Report
	for _, dir := range dirs {
		r, err := seed.Run(ctx, dir, cfg)
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, r)
	}
	a, b := history(t, dirs[0]), history(t, dirs[1])
	if len(a) != len(b) || len(a) != reports[0].Events {
		t.Fatalf("%d and %d events, report %+v", len(a), len(b), reports[0])
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("event %d differs:\n%+v\n%+v", i, a[i], b[i])
		}
	}
	r := reports[0]
	if r.Orders != 50 || r.Users == 0 || r.Workspaces == 0 {
		t.Errorf("report %+v", r)
	}
	// Users come two days before the first midnight of the period.
	startOfHistory := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	types := map[string]int{}
	for i, e := range a {
		if !e.StoredAt.Before(end) || e.StoredAt.Before(startOfHistory) {
			t.Fatalf("event %d stored at %s, outside [%s, %s)", i, e.StoredAt, startOfHistory, end)
		}
		if i > 0 && e.StoredAt.Before(a[i-1].StoredAt) {
			t.Fatalf("event %d stored before event %d", i, i-1)
		}
		types[e.Type]++
	}
	for _, typ := range []string{"UserRegistered", "WorkspaceCreated", "MemberAdded", "OrderPlaced", "ItemAdded", "OrderPaid", "OrderShipped"} {
		if types[typ] == 0 {
			t.Errorf("no %s in the history: %v", typ, types)
		}
	}
	if types["OrderPlaced"] != 50 {
		t.Errorf("%d orders placed, want 50", types["OrderPlaced"])
	}

	// Another seed gives another history.
	dir := filepath.Join(t.TempDir(), "c")
	cfg.Rand = 43
	if _, err := seed.Run(ctx, dir, cfg); err != nil {
		t.Fatal(err)
	}
	if c := history(t, dir); len(c) == len(a) && c[len(c)-1] == a[len(a)-1] {
		t.Error("seeds 42 and 43 gave the same history")
	}
}

func TestSeedRefusesAStoreWithEvents(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cfg := seed.Config{Orders: 5, Days: 2}
	if _, err := seed.Run(ctx, dir, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Run(ctx, dir, cfg); err == nil {
		t.Error("a second seed on the same store succeeded")
	}
}
