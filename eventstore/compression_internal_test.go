package eventstore

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/nats-io/nats.go/jetstream"
)

func logCompression(t *testing.T, s *Store) jetstream.StoreCompression {
	t.Helper()
	mustStart(t, s)
	info, err := s.logStream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.Config.Compression
}

// TestLogCompression: a log Open creates is S2-compressed unless
// WithLogCompression(false) says otherwise; an existing log keeps its own
// setting when opened with another, and takes S2 from a stream config
// update (as the package doc says), after which every event, before and
// after, reads back. That the blocks sealed after the update are
// compressed on disk is TestLogCompressionSealsCompressed (not under the
// race detector: it writes 9 MiB).
func TestLogCompression(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, filepath.Join(dir, "default"))
	if err != nil {
		t.Fatal(err)
	}
	if got := logCompression(t, s); got != jetstream.S2Compression {
		t.Errorf("new log: compression %v, want s2", got)
	}
	s.Close()

	plain := filepath.Join(dir, "plain")
	s, err = Open(ctx, plain, WithLogCompression(false))
	if err != nil {
		t.Fatal(err)
	}
	if got := logCompression(t, s); got != jetstream.NoCompression {
		t.Errorf("WithLogCompression(false): compression %v, want none", got)
	}
	if _, err := s.Append(ctx, "orders/1", []Event{{Type: "Placed", Data: []byte(`{"n":1}`)}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(ctx, plain) // the default asks for S2; the log stays as it is
	if err != nil {
		t.Fatal(err)
	}
	if got := logCompression(t, s); got != jetstream.NoCompression {
		t.Errorf("existing log opened with the default: compression %v, want none (unchanged)", got)
	}
	moveToS2(t, s)
	s.Close()

	s, err = Open(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := logCompression(t, s); got != jetstream.S2Compression {
		t.Errorf("after the update: compression %v, want s2", got)
	}
	if _, err := s.Append(ctx, "orders/1", []Event{{Type: "Paid", Data: []byte(`{"n":2}`)}}, ExpectVersion(1)); err != nil {
		t.Fatal(err)
	}
	var types []string
	for e, err := range s.ReadAll(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, e.Type)
	}
	if strings.Join(types, ",") != "Placed,Paid" {
		t.Errorf("ReadAll after the move: %v, want Placed, Paid", types)
	}
}

// moveToS2 updates the log's stream config to S2, as the package doc tells
// a user to.
func moveToS2(t *testing.T, s *Store) {
	t.Helper()
	mustStart(t, s)
	cfg := s.logStream.CachedInfo().Config
	cfg.Compression = jetstream.S2Compression
	if _, err := s.js.UpdateStream(context.Background(), cfg); err != nil {
		t.Fatalf("move the log to S2: %v", err)
	}
}

// TestIndexCompressesSettledTables: the index's tables are compressed
// with zstd, those a flush writes and those compactions write
// (index_compression.go).
func TestIndexCompressesSettledTables(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 200 {
		data := fmt.Appendf(nil, `{"order":"o-%d","sku":"KB-104","quantity":%d,"currency":"EUR"}`, i, i%5)
		if _, err := s.Append(ctx, fmt.Sprintf("orders/%d", i%7), []Event{{Type: "Added", Data: data}}); err != nil {
			t.Fatal(err)
		}
	}
	x, err := s.acquire(ctx, s.lastAcked.Load())
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(x)
	if err := x.db.Flush(); err != nil {
		t.Fatal(err)
	}
	names := func() map[int]string {
		levels, err := x.db.SSTables(pebble.WithProperties())
		if err != nil {
			t.Fatal(err)
		}
		got := map[int]string{}
		for l, tables := range levels {
			for _, tb := range tables {
				got[l] += tb.Properties.CompressionName + " "
			}
		}
		return got
	}
	flushed := names()
	if !strings.Contains(flushed[0], "ZSTD") || strings.Contains(flushed[0], "Snappy") {
		t.Errorf("flushed tables (L0): compression %q, want zstd", flushed[0])
	}
	for i := range 200 { // a second table overlapping the first: a compaction rewrites both
		if _, err := s.Append(ctx, fmt.Sprintf("orders/%d", i%7), []Event{{Type: "Added", Data: []byte(`{"more":true}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	s.release(x)
	if x, err = s.acquire(ctx, s.lastAcked.Load()); err != nil {
		t.Fatal(err)
	}
	if err := x.db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := x.db.Compact(ctx, []byte{0}, []byte{0xff}, true); err != nil {
		t.Fatal(err)
	}
	settled := names()
	if !strings.Contains(settled[6], "ZSTD") || strings.Contains(settled[6], "Snappy") {
		t.Errorf("compacted tables (L6): compression %q, want zstd (all levels: %v)", settled[6], settled)
	}
}
