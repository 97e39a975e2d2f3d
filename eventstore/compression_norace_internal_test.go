//go:build !race

package eventstore

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestLogCompressionSealsCompressed: a log moved to S2 by a stream config
// update (package doc) compresses the message blocks it seals after the
// next Open, and what it held before and after reads back whole. It writes
// 27 MiB, which under the race detector on a loaded 2-core machine takes
// longer than an append may wait, hence the build tag; TestLogCompression
// checks the settings under race.
func TestLogCompressionSealsCompressed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, WithLogCompression(false))
	if err != nil {
		t.Fatal(err)
	}
	// Nine 1 MiB events fill and seal an 8 MiB message block.
	big := func(b byte) []Event {
		return []Event{{Type: "Big", Data: bytes.Repeat([]byte{b}, 1<<20)}}
	}
	for i := range 9 {
		if _, err := s.Append(ctx, "big/before", big(byte('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	moveToS2(t, s)
	s.Close()
	before, err := dirSize(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	if before < 9<<20 {
		t.Fatalf("uncompressed log holds %d bytes, want at least 9 MiB", before)
	}

	s, err = Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 18 {
		if _, err := s.Append(ctx, "big/after", big(byte('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	// Sealed blocks are compressed in the background: 18 MiB of repeated
	// bytes grow the log by at most the block still open (8 MiB).
	var after int64
	for range 100 {
		if after, err = dirSize(filepath.Join(dir, "log")); err != nil {
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
	total := 0
	for _, name := range []string{"big/before", "big/after"} {
		n := 0
		for e, err := range s.Read(ctx, name) {
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Data) != 1<<20 || e.Data[0] != e.Data[len(e.Data)-1] {
				t.Errorf("%s version %d: %d bytes, damaged", name, e.Version, len(e.Data))
			}
			n++
		}
		if want := map[string]int{"big/before": 9, "big/after": 18}[name]; n != want {
			t.Errorf("%s: read %d events, want %d", name, n, want)
		}
		total += n
	}
	n := 0
	for _, err := range s.ReadAll(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != total {
		t.Errorf("ReadAll: %d events, want %d", n, total)
	}
}
