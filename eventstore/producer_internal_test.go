package eventstore

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// TestProducerStateDoesNotGrow checks that the read index keeps one record
// per (stream, producer) however many events the producers append: after
// 10,000 events from three producers the stream has exactly three producer
// keys, each holding the producer's last sequence number.
func TestProducerStateDoesNotGrow(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const stream, other, perProducer = "grow/1", "grow/2", 3334
	ids := []string{"p0", "p1", "p2"}
	var producers []*Producer
	for _, id := range ids {
		// Small batches, so that the state is rewritten by many commits.
		p, err := s.Producer(context.Background(), stream, id, WithMaxBatch(10))
		if err != nil {
			t.Fatal(err)
		}
		producers = append(producers, p)
	}
	for i := range perProducer {
		for j, p := range producers {
			if _, err := p.Append(ctx, Event{Type: "Grow", Data: fmt.Appendf(nil, "%s/%d", ids[j], i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, p := range producers {
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Single appends on a second stream by one of the ids.
	for i := range 20 {
		if _, err := s.Append(ctx, other, []Event{{Type: "Grow", Data: []byte("x")}}, WithProducer("p0", 0, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	x, err := s.acquire(ctx, s.lastAcked.Load())
	if err != nil {
		t.Fatal(err)
	}
	defer s.release(x)
	count := func(kind byte, name string) (keys int, values [][]byte) {
		p := streamPrefix(kind, name)
		it, err := x.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: upperBound(p)})
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			keys++
			if kind == 'p' {
				values = append(values, bytes.Clone(it.Key()[len(p):]))
			}
		}
		if err := it.Error(); err != nil {
			t.Fatal(err)
		}
		return keys, values
	}
	keys, names := count('p', stream)
	if keys != len(ids) {
		t.Fatalf("%d producer keys for %s, want %d: %q", keys, stream, len(ids), names)
	}
	if commits, _ := count('c', stream); commits <= len(ids) {
		t.Fatalf("%d commits: the test did not exercise many commits", commits)
	}
	if keys, _ := count('p', other); keys != 1 {
		t.Fatalf("%d producer keys for %s, want 1", keys, other)
	}
	all := 0
	it, err := x.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'p'}, UpperBound: []byte{'q'}})
	if err != nil {
		t.Fatal(err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		all++
	}
	it.Close()
	if all != len(ids)+1 {
		t.Fatalf("%d producer keys in the index, want %d", all, len(ids)+1)
	}
	for _, id := range ids {
		st, ok, err := x.producer(stream, id)
		if err != nil || !ok || st.epoch != 0 || st.lastSeq != perProducer-1 {
			t.Fatalf("state of %s: %+v %v %v, want last seq %d", id, st, ok, err, perProducer-1)
		}
	}
}
