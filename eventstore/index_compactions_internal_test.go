package eventstore

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// TestIndexOpenLeavesCompactionsForLater: an index closed with compaction
// debt (more L0 tables than the compaction threshold) opens without
// compacting, since pebble's Open waits for every compaction it started
// (seconds on a large index); the debt is compacted once the gate opens.
func TestIndexOpenLeavesCompactionsForLater(t *testing.T) {
	dir := t.TempDir()
	x, reason := tryOpenIndex(dir, "log-1", 0, 1<<20, slog.New(slog.DiscardHandler))
	if reason != "" {
		t.Fatal(reason)
	}
	// The gate stays closed: each flush adds an L0 table and none is
	// compacted away.
	const tables = 10 // more than L0CompactionThreshold (8), fewer than the 12 that stop writes
	for i := range tables {
		for k := range 100 {
			if err := x.db.Set(fmt.Appendf(nil, "z/%02d/%03d", k, i), []byte("v"), pebble.NoSync); err != nil {
				t.Fatal(err)
			}
		}
		if err := x.db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if n := x.db.Metrics().Levels[0].TablesCount; n < tables {
		t.Fatalf("%d L0 tables before close, want %d", n, tables)
	}
	if err := x.close(); err != nil {
		t.Fatal(err)
	}

	x, reason = tryOpenIndex(dir, "log-1", 0, 1<<20, slog.New(slog.DiscardHandler))
	if reason != "" {
		t.Fatal(reason)
	}
	defer x.close()
	m := x.db.Metrics()
	if m.Compact.Count != 0 || m.Levels[0].TablesCount < tables {
		t.Fatalf("opening compacted: %d compactions, %d L0 tables (had %d)", m.Compact.Count, m.Levels[0].TablesCount, tables)
	}
	x.compactions.openGate()
	deadline := time.Now().Add(time.Minute)
	for x.db.Metrics().Compact.Count == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no compaction within a minute of opening the gate")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
