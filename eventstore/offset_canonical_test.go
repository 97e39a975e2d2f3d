package eventstore_test

import (
	"context"
	"testing"

	"github.com/rewindhq/rewind/eventstore"
)

// TestOffsetsCanonical: one position has one string. After each append,
// the append's last offset, the last event's Offset as Read and ReadAll
// return it, the stream's Head and the log's Tail are the same string; an
// empty stream's Head and an empty log's Tail are both Start; every offset
// handed out parses back to itself.
func TestOffsetsCanonical(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	tail, err := s.Tail(ctx)
	if err != nil || tail != eventstore.Start {
		t.Fatalf("tail of an empty log: %q, %v; want Start %q", tail, err, eventstore.Start)
	}
	h, err := s.Head(ctx, "canon/none")
	if err != nil || h.Offset != eventstore.Start || h.Offset != tail {
		t.Fatalf("head of an empty stream: %+v, %v; want Start, equal to the empty log's tail", h, err)
	}
	for i, n := range []int{1, 3, 1, 5, 2} {
		stream := []string{"canon/a", "canon/b"}[i%2]
		res, err := s.Append(ctx, stream, evs(n, i*10))
		if err != nil {
			t.Fatal(err)
		}
		h, err := s.Head(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		tail, err := s.Tail(ctx)
		if err != nil {
			t.Fatal(err)
		}
		read := collect(t, s.Read(ctx, stream))
		all := collect(t, s.ReadAll(ctx))
		last, lastAll := read[len(read)-1].Offset, all[len(all)-1].Offset
		if res.Offset() != h.Offset || h.Offset != tail || tail != last || last != lastAll {
			t.Errorf("append %d: AppendResult %q, Head %q, Tail %q, last event read %q, last in ReadAll %q: want one string",
				i, res.Offset(), h.Offset, tail, last, lastAll)
		}
		for j, o := range res.Offsets {
			if read[len(read)-n+j].Offset != o {
				t.Errorf("append %d: offset %d is %q in the result, %q when read", i, j, o, read[len(read)-n+j].Offset)
			}
		}
		if got := collect(t, s.Read(ctx, stream, eventstore.From(h.Offset))); len(got) != 0 {
			t.Errorf("read From(Head) returned %d events", len(got))
		}
	}
	var prev eventstore.Offset
	for _, e := range collect(t, s.ReadAll(ctx)) {
		if e.Offset <= prev {
			t.Errorf("offset %q after %q", e.Offset, prev)
		}
		prev = e.Offset
		if o, err := eventstore.ParseOffset(string(e.Offset)); err != nil || o != e.Offset {
			t.Errorf("ParseOffset(%q) = %q, %v", e.Offset, o, err)
		}
	}
}
