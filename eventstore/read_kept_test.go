package eventstore_test

import (
	"bytes"
	"context"
	"fmt"
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
