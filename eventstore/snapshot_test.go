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
			{[]eventstore.ReadOption{eventstore.ToVersion(30)}, 30},
			{[]eventstore.ReadOption{eventstore.ToVersion(5)}, 0}, // before the first
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

// TestSnapshotsKeptSpread: of many snapshots of one stream, a bounded
// number is kept, spread through the history, with the newest.
func TestSnapshotsKeptSpread(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	const n = 300
	for v := uint64(1); v <= n; v++ {
		if err := s.SaveSnapshot(ctx, eventstore.Snapshot{Stream: "spread/1", Version: v * 10, StoredAt: time.Unix(int64(v), 0), Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	var kept []uint64
	for v := uint64(n * 10); ; {
		snap, ok, err := s.LoadSnapshot(ctx, "spread/1", eventstore.ToVersion(v))
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		kept = append(kept, snap.Version)
		if snap.Version == 10 {
			break
		}
		v = snap.Version - 1
	}
	if len(kept) > 64 || kept[0] != n*10 {
		t.Fatalf("kept %d snapshots, newest %d: want at most 64 with the newest", len(kept), kept[0])
	}
	for i := 1; i < len(kept); i++ {
		if gap := kept[i-1] - kept[i]; gap > 3*n*10/64 {
			t.Fatalf("gap of %d versions between kept snapshots %d and %d: %v", gap, kept[i], kept[i-1], kept)
		}
	}
}

// TestSnapshotsList: Snapshots lists what is kept of a stream, by version,
// and nothing after DeleteSnapshots.
func TestSnapshotsList(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	if got, err := s.Snapshots(ctx, "list/1"); err != nil || len(got) != 0 {
		t.Fatalf("no snapshots: %+v, %v", got, err)
	}
	for _, v := range []uint64{30, 10, 20} {
		if err := s.SaveSnapshot(ctx, eventstore.Snapshot{Stream: "list/1", Version: v, StoredAt: time.Unix(int64(v), 0),
			Schema: "s", Data: []byte(fmt.Sprint(v))}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Snapshots(ctx, "list/1")
	if err != nil || len(got) != 3 {
		t.Fatalf("Snapshots: %+v, %v; want 3", got, err)
	}
	for i, v := range []uint64{10, 20, 30} {
		if got[i].Version != v || string(got[i].Data) != fmt.Sprint(v) || got[i].Schema != "s" || got[i].Stream != "list/1" {
			t.Fatalf("snapshot %d: %+v, want version %d", i, got[i], v)
		}
	}
	if err := s.DeleteSnapshots(ctx, "list/1"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Snapshots(ctx, "list/1"); err != nil || len(got) != 0 {
		t.Fatalf("after DeleteSnapshots: %+v, %v", got, err)
	}
	if _, err := s.Snapshots(ctx, "bad\x00name"); err == nil {
		t.Fatal("Snapshots of an invalid name: no error")
	}
}

// TestSnapshotZeroStoredAt: a snapshot saved without StoredAt gets the
// store time of the event at its version, so that a load as of an
// earlier time does not get it; without such an event it is refused.
func TestSnapshotZeroStoredAt(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	first, err := s.Append(ctx, "zs/1", evs(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	second, err := s.Append(ctx, "zs/1", evs(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveSnapshot(ctx, eventstore.Snapshot{Stream: "zs/1", Version: 2, Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	snap, ok, err := s.LoadSnapshot(ctx, "zs/1")
	if err != nil || !ok || !snap.StoredAt.Equal(second.StoredAt) {
		t.Fatalf("the snapshot: %+v, %v, %v; want StoredAt %v", snap, ok, err, second.StoredAt)
	}
	if snap, ok, err := s.LoadSnapshot(ctx, "zs/1", eventstore.ToTime(first.StoredAt)); err != nil || ok {
		t.Fatalf("as of version 1's time: %+v, %v, %v; want none", snap, ok, err)
	}
	err = s.SaveSnapshot(ctx, eventstore.Snapshot{Stream: "zs/1", Version: 3, Data: []byte("{}")})
	if !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Fatalf("no StoredAt, no version 3: %v, want ErrInvalidOption", err)
	}
}

// TestSnapshotStoredAtOutOfRange: a StoredAt that int64 nanoseconds since
// 1970 cannot hold is refused with ErrInvalidOption; it was saved and
// loaded as another time (2400 as 1815), which LoadSnapshot's ToTime
// then compared.
func TestSnapshotStoredAtOutOfRange(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	if _, err := s.Append(ctx, "far/1", evs(1, 0)); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)} {
		err := s.SaveSnapshot(ctx, eventstore.Snapshot{Stream: "far/1", Version: 1, StoredAt: at, Data: []byte("{}")})
		if !errors.Is(err, eventstore.ErrInvalidOption) {
			t.Errorf("StoredAt %v: %v, want ErrInvalidOption", at, err)
		}
	}
	if snap, ok, err := s.LoadSnapshot(ctx, "far/1"); err != nil || ok {
		t.Fatalf("a snapshot was saved: %+v, %v, %v", snap, ok, err)
	}
}

// SaveSnapshot refuses a snapshot larger than one message with
// ErrTooLarge, as an append is refused (it was the server's untyped
// "maximum payload exceeded").
func TestSaveSnapshotTooLarge(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t, eventstore.WithMaxPayload(64<<10))
	res, err := s.Append(ctx, "pages/p/events", []eventstore.Event{{Type: "Written", Data: []byte(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.SaveSnapshot(ctx, eventstore.Snapshot{Stream: "pages/p/events", Version: res.Version, StoredAt: res.StoredAt,
		Data: []byte(strings.Repeat("x", 64<<10))})
	if !errors.Is(err, eventstore.ErrTooLarge) {
		t.Errorf("SaveSnapshot of 64 KiB with 64 KiB messages: %v, want ErrTooLarge", err)
	}
	if err := s.SaveSnapshot(ctx, eventstore.Snapshot{Stream: "pages/p/events", Version: res.Version, StoredAt: res.StoredAt,
		Data: []byte(strings.Repeat("x", 32<<10))}); err != nil {
		t.Errorf("SaveSnapshot of 32 KiB: %v", err)
	}
}
