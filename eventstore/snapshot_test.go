package eventstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// TestSnapshots: snapshots are kept outside every stream (no read or
// subscription sees them), found by version and by time, kept across a
// restart and a rebuild of the index, the newest few per stream, and
// deleted on request.
func TestSnapshots(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.LoadSnapshot(ctx, "snap/1"); ok || err != nil {
		t.Fatalf("snapshot of a stream without any: %v, %v", ok, err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for v := uint64(10); v <= 120; v += 10 {
		snap := eventstore.Snapshot{Stream: "snap/1", Version: v, StoredAt: base.Add(time.Duration(v) * time.Minute),
			Schema: "order-v1", Data: []byte(fmt.Sprintf(`{"v":%d}`, v))}
		if err := s.SaveSnapshot(ctx, snap); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(ctx, "snap/1", evs(3, 0)); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		for _, c := range []struct {
			opts []eventstore.ReadOption
			want uint64 // 0: none
		}{
			{nil, 120},
			{[]eventstore.ReadOption{eventstore.ToVersion(75)}, 70},
			{[]eventstore.ReadOption{eventstore.ToVersion(60)}, 60},
			{[]eventstore.ReadOption{eventstore.ToTime(base.Add(95 * time.Minute))}, 90},
			{[]eventstore.ReadOption{eventstore.ToVersion(30)}, 0}, // older than the newest eight
		} {
			snap, ok, err := s.LoadSnapshot(ctx, "snap/1", c.opts...)
			if err != nil || ok != (c.want != 0) || ok && (snap.Version != c.want || string(snap.Data) != fmt.Sprintf(`{"v":%d}`, c.want) || snap.Schema != "order-v1") {
				t.Errorf("%s: load %d: %+v, %v, %v; want version %d", when, len(c.opts), snap, ok, err, c.want)
			}
		}
		if got := collect(t, s.Read(ctx, "snap/1")); len(got) != 3 {
			t.Errorf("%s: the stream reads %d events, want its 3", when, len(got))
		}
		if got := collect(t, s.ReadAll(ctx)); len(got) != 3 {
			t.Errorf("%s: the log reads %d events, want 3", when, len(got))
		}
		if got := collect(t, s.ReadCategory(ctx, "snap")); len(got) != 3 {
			t.Errorf("%s: the category reads %d events, want 3", when, len(got))
		}
		sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		n := 0
		for _, err := range s.SubscribeAll(sctx) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 3 {
			t.Errorf("%s: a subscription to the log delivered %d events, want 3", when, n)
		}
	}
	check("saved")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = openStoreAt(t, dir)
	check("after a restart")
	if err := s.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check("after a rebuild of the index")
	if err := s.DeleteSnapshots(ctx, "snap/1"); err != nil {
		t.Fatal(err)
	}
	if snap, ok, err := s.LoadSnapshot(ctx, "snap/1"); ok || err != nil {
		t.Fatalf("after DeleteSnapshots: %+v, %v, %v", snap, ok, err)
	}
	if _, _, err := s.LoadSnapshot(ctx, "snap/1", eventstore.FromVersion(3)); err == nil {
		t.Errorf("LoadSnapshot with FromVersion: no error")
	}
}
