package eventstore

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/nats-io/nats.go/jetstream"
)

func logCompression(t *testing.T, s *Store) jetstream.StoreCompression {
	t.Helper()
	info, err := s.logStream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.Config.Compression
}

// TestLogCompression: a log Open creates is S2-compressed unless
// WithLogCompression(false) says otherwise; an existing log keeps its own
// setting when opened with another; and a log moved to S2 by a stream
// config update (as the package doc says) compresses the blocks it seals
// after the next Open, while every event, before and after, reads back.
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
	// Three 3 MiB events fill and seal an 8 MiB message block.
	big := func(b byte) []Event {
		return []Event{{Type: "Big", Data: bytes.Repeat([]byte{b}, 3<<20)}}
	}
	for i := range 3 {
		if _, err := s.Append(ctx, "big/before", big(byte('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	before, err := dirSize(filepath.Join(plain, "log"))
	if err != nil {
		t.Fatal(err)
	}
	if before < 9<<20 {
		t.Fatalf("uncompressed log holds %d bytes, want at least 9 MiB", before)
	}

	s, err = Open(ctx, plain) // the default asks for S2; the log stays as it is
	if err != nil {
		t.Fatal(err)
	}
	if got := logCompression(t, s); got != jetstream.NoCompression {
		t.Errorf("existing log opened with the default: compression %v, want none (unchanged)", got)
	}
	cfg := s.logStream.CachedInfo().Config
	cfg.Compression = jetstream.S2Compression
	if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("move the log to S2: %v", err)
	}
	s.Close()

	s, err = Open(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := logCompression(t, s); got != jetstream.S2Compression {
		t.Errorf("after the update: compression %v, want s2", got)
	}
	for i := range 6 {
		if _, err := s.Append(ctx, "big/after", big(byte('s'+i))); err != nil {
			t.Fatal(err)
		}
	}
	// Sealed blocks are compressed in the background: 18 MiB of repeated
	// bytes grow the log by at most the block still open (8 MiB).
	var after int64
	for range 100 {
		if after, err = dirSize(filepath.Join(plain, "log")); err != nil {
			t.Fatal(err)
		}
		if after < before+(9<<20) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after >= before+(9<<20) {
		t.Errorf("log grew from %d to %d bytes for 18 MiB of repeated bytes: the sealed blocks were not compressed", before, after)
	}
	for _, name := range []string{"big/before", "big/after"} {
		n := 0
		for e, err := range s.Read(ctx, name) {
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Data) != 3<<20 || e.Data[0] != e.Data[len(e.Data)-1] {
				t.Errorf("%s version %d: %d bytes, damaged", name, e.Version, len(e.Data))
			}
			n++
		}
		if want := map[string]int{"big/before": 3, "big/after": 6}[name]; n != want {
			t.Errorf("%s: read %d events, want %d", name, n, want)
		}
	}
	n := 0
	for _, err := range s.ReadAll(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 9 {
		t.Errorf("ReadAll: %d events, want 9", n)
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
