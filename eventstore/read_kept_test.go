package eventstore_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/rewindhq/rewind/eventstore"
)

// TestReadEventsKeepTheirData checks that events kept from a read keep
// their data after the read has moved on and other reads have run: a read
// of the index decodes each commit from the index's own buffers (its
// iterator's, its block cache's) and copies out only what the event keeps.
// The index is read from its tables, not its memtable (the store is
// reopened), and other streams are read after, so those buffers are reused.
func TestReadEventsKeepTheirData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	data := func(stream, i int) []byte {
		return bytes.Repeat(fmt.Appendf(nil, "{%d:%d}", stream, i), 40)
	}
	const streams, commits = 4, 150 // ~300 KB a stream: many index blocks
	for i := range commits {
		for k := range streams {
			e := eventstore.Event{Type: "T", Data: data(k, i), Metadata: map[string]string{"i": fmt.Sprint(i)}}
			if _, err := s.Append(ctx, fmt.Sprintf("keep/s%d", k), []eventstore.Event{e}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = eventstore.Open(ctx, dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kept := collect(t, s.Read(ctx, "keep/s0"))
	for range 3 {
		for k := 1; k < streams; k++ {
			if got := len(collect(t, s.Read(ctx, fmt.Sprintf("keep/s%d", k)))); got != commits {
				t.Fatalf("keep/s%d: %d events, want %d", k, got, commits)
			}
		}
	}
	if len(kept) != commits {
		t.Fatalf("%d events, want %d", len(kept), commits)
	}
	for i, e := range kept {
		if !bytes.Equal(e.Data, data(0, i)) || e.Version != uint64(i+1) || e.Type != "T" || e.Metadata["i"] != fmt.Sprint(i) {
			t.Fatalf("event %d changed after the read: version %d, type %q, metadata %v, data %.40q", i, e.Version, e.Type, e.Metadata, e.Data)
		}
	}
}

// TestReadBorrowData checks a Read with BorrowData: each event's data is
// right while the loop body has it (the index read from its tables, after
// a reopen, where the data aliases the iterator's buffers), the other
// fields are those of a plain read, bounds apply, and it allocates less
// than the plain read, which copies every event's data out.
func TestReadBorrowData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	data := func(i int) []byte { return bytes.Repeat(fmt.Appendf(nil, "<%d>", i), 50) }
	const events = 300
	for i := range events {
		if _, err := s.Append(ctx, "borrow/a", []eventstore.Event{{Type: "T", Data: data(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = eventstore.Open(ctx, dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The embedded server starts behind the open, and what it allocates
	// meanwhile would count as the reads' (allocBytes is the process's).
	if err := s.Started(ctx); err != nil {
		t.Fatal(err)
	}
	plain := collect(t, s.Read(ctx, "borrow/a"))
	n := 0
	for e, err := range s.Read(ctx, "borrow/a", eventstore.BorrowData()) {
		if err != nil {
			t.Fatal(err)
		}
		p := plain[n]
		if !bytes.Equal(e.Data, data(n)) || e.Version != p.Version || e.Offset != p.Offset || e.ID != p.ID ||
			e.Type != p.Type || !e.StoredAt.Equal(p.StoredAt) {
			t.Fatalf("event %d borrowed: version %d offset %s data %.20q; plain: version %d offset %s", n, e.Version, e.Offset, e.Data, p.Version, p.Offset)
		}
		n++
	}
	if n != events {
		t.Fatalf("%d events, want %d", n, events)
	}
	if got := len(collect(t, s.Read(ctx, "borrow/a", eventstore.BorrowData(), eventstore.FromVersion(11), eventstore.ToVersion(20)))); got != 10 {
		t.Fatalf("bounded borrowed read: %d events, want 10", got)
	}
	count := func(opts ...eventstore.ReadOption) func() {
		return func() {
			for _, err := range s.Read(ctx, "borrow/a", opts...) {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	plainBytes, borrowBytes := allocBytes(count()), allocBytes(count(eventstore.BorrowData()))
	if borrowBytes+uint64(events*len(data(0))/2) > plainBytes {
		t.Fatalf("a borrowed read allocated %d bytes, a plain one %d: want at least half of the data (%d bytes) fewer", borrowBytes, plainBytes, events*len(data(0)))
	}
}

// allocBytes is how many bytes fn allocates, the least of three runs.
func allocBytes(fn func()) uint64 {
	least := uint64(math.MaxUint64)
	for range 3 {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		fn()
		runtime.ReadMemStats(&m1)
		least = min(least, m1.TotalAlloc-m0.TotalAlloc)
	}
	return least
}

// TestReadAllocatesNoLargeObjects checks that a one-stream read keeps its
// events' data in small objects only. Go serves a request above 32 KiB
// less its 8-byte malloc header as a large object, its own span taken
// from the heap and given back at the next sweep, which the background
// scavenger then returns to the OS: the read's 32 KiB chunks were each
// one (seven per read of a 1,000-event stream), and warm reads paid for
// the zeroing, the madvise and the page faults. The count is the
// runtime's allocation histogram's last bucket (above 32 KiB), over the
// whole process: the store does nothing else meanwhile, and the bound
// leaves room for what its idle goroutines may allocate.
func TestReadAllocatesNoLargeObjects(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	const events, size = 1000, 200
	appendSized(t, s, "large/s", events, size)
	collect(t, s.Read(ctx, "large/s")) // warm
	sample := []metrics.Sample{{Name: "/gc/heap/allocs-by-size:bytes"}}
	large := func() uint64 {
		metrics.Read(sample)
		h := sample[0].Value.Float64Histogram()
		return h.Counts[len(h.Counts)-1]
	}
	const reads = 20
	before := large()
	for range reads {
		n := 0 // counted, not collected: a slice of 1,000 events is itself large
		for _, err := range s.Read(ctx, "large/s") {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != events {
			t.Fatalf("%d events, want %d", n, events)
		}
	}
	if n := large() - before; n >= reads {
		t.Fatalf("%d reads of %d events of %d B allocated %d objects above 32 KiB, want fewer than %d", reads, events, size, n, reads)
	}
}

// appendSized appends n events of size bytes of data to stream, 100 to a
// commit.
func appendSized(t *testing.T, s *eventstore.Store, stream string, n, size int) {
	t.Helper()
	data := bytes.Repeat([]byte("x"), size)
	for i := 0; i < n; i += 100 {
		batch := make([]eventstore.Event, min(100, n-i))
		for k := range batch {
			batch[k] = eventstore.Event{Type: "T", Data: data}
		}
		if _, err := s.Append(context.Background(), stream, batch); err != nil {
			t.Fatal(err)
		}
	}
}
