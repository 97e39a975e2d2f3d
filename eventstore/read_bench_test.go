package eventstore_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/rewindhq/rewind/eventstore"
)

// BenchmarkReadOneStream reads a 1,000-event stream whole through
// Store.Read, as the warm-read row does: one event of 200 B per commit,
// its commits interleaved with another stream's, read from the index's
// tables (the store is reopened), every event's data kept by the loop as
// a user's would be. ns/op, B/op and allocs/op are one read's; the
// collector runs as it would in the process (no runtime.GC between
// reads), so ns/op includes the share of its work the reads cause.
func BenchmarkReadOneStream(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat([]byte("x"), 200)
	const events = 1000
	for i := range events {
		for _, stream := range []string{"bench/one", fmt.Sprintf("bench/other-%d", i%50)} {
			if _, err := s.Append(ctx, stream, []eventstore.Event{{Type: "T", Data: data}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if s, err = eventstore.Open(ctx, dir); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Started(ctx); err != nil {
		b.Fatal(err)
	}
	var kept []byte
	read := func() {
		n := 0
		for e, err := range s.Read(ctx, "bench/one") {
			if err != nil {
				b.Fatal(err)
			}
			kept = e.Data
			n++
		}
		if n != events {
			b.Fatalf("%d events, want %d", n, events)
		}
	}
	read()
	b.ReportAllocs()
	for b.Loop() {
		read()
	}
	if len(kept) != len(data) {
		b.Fatalf("last event's data: %d bytes, want %d", len(kept), len(data))
	}
}
