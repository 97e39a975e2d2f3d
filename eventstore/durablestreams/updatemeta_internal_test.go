package durablestreams

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// TestUpdateMetaBacksOff: a compare-and-set that keeps losing to another
// writer is tried again after pauses that grow, not at once, a bounded
// number of times; it gives up with an error, and a context that ends
// stops it between tries. (It used to try 64 times without a pause.)
func TestUpdateMetaBacksOff(t *testing.T) {
	ctx := context.Background()
	store, err := eventstore.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h := New(store)
	defer h.Shutdown()
	const name = "meta/contended"
	if _, err := store.SetMetadata(ctx, name, map[string]string{"x": "0"}, 0); err != nil {
		t.Fatal(err)
	}
	// fn changes the metadata behind updateMeta's back on every try, so
	// that each compare-and-set loses.
	var tries []time.Time
	rival := func(m *meta) bool {
		tries = append(tries, time.Now())
		md, err := store.Metadata(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.SetMetadata(ctx, name, map[string]string{"x": time.Now().String()}, md.Revision); err != nil {
			t.Fatal(err)
		}
		return true
	}
	err = h.updateMeta(ctx, name, rival)
	if err == nil || len(tries) < 2 {
		t.Fatalf("a compare-and-set that always loses: err %v after %d tries, want an error after several", err, len(tries))
	}
	if len(tries) > 16 {
		t.Errorf("%d tries, want at most 16", len(tries))
	}
	// The pauses grow: from 1 ms doubling up to 200 ms (with jitter of up
	// to the pause again), so the tries span at least the sum of the
	// smallest pauses, and the later gaps are longer than the first.
	var least time.Duration
	pause := time.Millisecond
	for range len(tries) - 1 {
		least += pause
		pause = min(2*pause, 200*time.Millisecond)
	}
	if span := tries[len(tries)-1].Sub(tries[0]); span < least {
		t.Errorf("%d tries within %v, want at least %v of pauses between them", len(tries), span, least)
	}
	if first, last := tries[1].Sub(tries[0]), tries[len(tries)-1].Sub(tries[len(tries)-2]); last < 100*time.Millisecond || last <= first {
		t.Errorf("the pauses do not grow: first gap %v, last %v", first, last)
	}

	// A context that ends stops the tries.
	tries = nil
	cctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = h.updateMeta(cctx, name, rival)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("with a context ending after 150 ms: %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the tries went on %v after the context ended", took)
	}
}
