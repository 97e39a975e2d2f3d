package aggregate_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
)

// TestProducerIDCheckedFirst: a Producer id the store cannot take is a
// command that cannot be run (ErrInvalidCommand, and the store's
// ErrInvalidProducer saying the rule), refused before the decider runs;
// it was caught at the append, after the decider, as a command id too
// long or a producer error.
func TestProducerIDCheckedFirst(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	repo := newRepo(t, s, defineOrders())
	for _, id := range []string{"", strings.Repeat("p", 5000), strings.Repeat("p", 257), "x\x00"} {
		ran := false
		_, err := repo.Handle(ctx, "o1", func(o order) ([]orderEvent, error) {
			ran = true
			return place("ada")(o)
		}, aggregate.Producer(id, 1, 0))
		if !errors.Is(err, aggregate.ErrInvalidCommand) || !errors.Is(err, eventstore.ErrInvalidProducer) ||
			!strings.Contains(err.Error(), "1 to 256 bytes") {
			t.Errorf("producer of %d bytes: %v, want ErrInvalidCommand and ErrInvalidProducer naming the rule", len(id), err)
		}
		if ran {
			t.Errorf("producer of %d bytes: the decider ran", len(id))
		}
	}
	if h, _ := s.Head(ctx, "orders/o1/events"); h.Version != 0 {
		t.Errorf("bad producers stored %d events", h.Version)
	}
	if _, err := repo.Handle(ctx, "o1", place("ada"), aggregate.Producer(strings.Repeat("p", 256), 1, 0)); err != nil {
		t.Errorf("producer of 256 bytes: %v", err)
	}
}

// TestLongCategory: an id that fits MaxIDLen but not, after a long
// category, in a stream's name is ErrInvalidID, as documented, from
// Stream, Load and Handle alike (it was the store's ErrInvalidStreamName
// at the append); a category that leaves no room for any id is a
// definition error.
func TestLongCategory(t *testing.T) {
	ctx := context.Background()
	d := aggregate.Define[order, orderEvent](strings.Repeat("c", 900), order{})
	aggregate.On(d, "OrderPlaced", func(s order, e orderPlaced) order { s.Status = "placed"; return s })
	if err := d.Err(); err != nil {
		t.Fatalf("a 900-byte category: %v", err)
	}
	repo := newRepo(t, openStore(t), d)
	long := strings.Repeat("i", 200)
	if _, err := d.Stream(long); !errors.Is(err, aggregate.ErrInvalidID) {
		t.Errorf("Stream of a 200-byte id after a 900-byte category: %v, want ErrInvalidID", err)
	}
	if _, err := repo.Load(ctx, long); !errors.Is(err, aggregate.ErrInvalidID) {
		t.Errorf("Load: %v, want ErrInvalidID", err)
	}
	if _, err := repo.Handle(ctx, long, place("ada")); !errors.Is(err, aggregate.ErrInvalidID) {
		t.Errorf("Handle: %v, want ErrInvalidID", err)
	}
	if _, err := repo.Handle(ctx, "short", place("ada")); err != nil {
		t.Errorf("Handle of a short id: %v", err)
	}
	d = aggregate.Define[order, orderEvent](strings.Repeat("c", eventstore.MaxStreamNameLen-8), order{})
	if err := d.Err(); !errors.Is(err, aggregate.ErrDefinition) {
		t.Errorf("a category with no room for an id: %v, want ErrDefinition", err)
	}
}
