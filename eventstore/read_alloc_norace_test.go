//go:build !race

package eventstore_test

import (
	"context"
	"math"
	"runtime/metrics"
	"testing"

	"github.com/rewindhq/rewind/eventstore"
)

// TestReadAllocatesWhatItHandsOut checks that a one-stream read allocates
// little more than what its events keep: each event's data and its
// offset (27 bytes). A read's last arena chunk is partly empty; with
// 32 KiB chunks a read of 1,000 events of 200 B allocated 254 KB for the
// 227 KB its events keep (283 KB here, reopened), and garbage is what
// paces the collector, which the warm reads' tail follows. The store is
// reopened and started, so that the reads are of its tables, as warm
// reads are, and what the process allocates is counted over five
// batches of reads, keeping the least: a batch that met a one-off
// allocation of the store's own (its command filter, the server's
// start) is not the read's. The bound leaves 2 % and 6 KiB a read. The
// race detector's instrumentation allocates on the read's path too (285
// KB a read), hence the build tag; TestReadAllocatesNoLargeObjects runs
// under race.
func TestReadAllocatesWhatItHandsOut(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	const events, size = 1000, 200
	appendSized(t, s, "sized/s", events, size)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Started(ctx); err != nil {
		t.Fatal(err)
	}
	collect(t, s.Read(ctx, "sized/s")) // warm
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	allocated := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	const reads = 5
	perRead := uint64(math.MaxUint64)
	for range 5 {
		before := allocated()
		for range reads {
			n := 0
			for _, err := range s.Read(ctx, "sized/s") {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != events {
				t.Fatalf("%d events, want %d", n, events)
			}
		}
		perRead = min(perRead, (allocated()-before)/reads)
	}
	kept := uint64(events * (size + len("00000000000000000001_000001")))
	if limit := kept*102/100 + 6<<10; perRead > limit {
		t.Fatalf("a read of %d events of %d B allocated %d B, want at most %d (its events keep %d)", events, size, perRead, limit, kept)
	}
	t.Logf("a read allocated %d B; its events keep %d", perRead, kept)
}
