package eventstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rewindhq/rewind/eventstore"
)

// TestCheckProducerAppend: the rules CheckProducerAppend states are the
// ones Append applies. For each (epoch, seq), on a stream whose producer
// stored epoch 1 up to seq 3, the check and an append of a copy of the
// stream agree: refused with the same kind, or taken.
func TestCheckProducerAppend(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		epoch, seq uint64
		want       error // nil: taken (as new or as a duplicate)
	}{
		{0, 0, eventstore.ErrStaleEpoch},
		{1, 2, nil}, // a duplicate
		{1, 4, nil},
		{1, 6, eventstore.ErrSequenceGap},
		{2, 0, nil},
		{2, 1, eventstore.ErrInvalidProducer},
	} {
		s, _ := openStore(t)
		for seq := range uint64(4) {
			if _, err := s.Append(ctx, "p/1", []eventstore.Event{{Type: "T", Data: []byte(`{}`)}}, eventstore.WithProducer("pr", 1, seq)); err != nil {
				t.Fatal(err)
			}
		}
		epoch, last, known, err := s.ProducerState(ctx, "p/1", "pr")
		if err != nil || !known {
			t.Fatalf("ProducerState: %v, %v", known, err)
		}
		checked := eventstore.CheckProducerAppend("p/1", "pr", c.epoch, c.seq, epoch, last, known)
		_, appended := s.Append(ctx, "p/1", []eventstore.Event{{Type: "T", Data: []byte(`{}`)}}, eventstore.WithProducer("pr", c.epoch, c.seq))
		for what, err := range map[string]error{"CheckProducerAppend": checked, "Append": appended} {
			if (c.want == nil) != (err == nil) || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("epoch %d seq %d: %s = %v, want %v", c.epoch, c.seq, what, err, c.want)
			}
		}
	}
	if err := eventstore.CheckProducerAppend("p/1", "new", 0, 1, 0, 0, false); !errors.Is(err, eventstore.ErrSequenceGap) {
		t.Errorf("a new producer's first seq 1: %v, want ErrSequenceGap", err)
	}
}
