package aggregate_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/aggregate"
)

// TestApplyPanicIsAnError: an apply function that panics on an event is
// an error naming the event (ErrApplyPanic, *EventError) from Handle,
// which has stored the command's events and says where, and from every
// load that reaches the event; the panic never escapes, and the id of
// the command still makes it exactly-once.
func TestApplyPanicIsAnError(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	d := aggregate.Define[order, orderEvent]("orders", order{})
	aggregate.On(d, "OrderPlaced", func(s order, e orderPlaced) order { s.Status = "placed"; return s })
	aggregate.On(d, "OrderPaid", func(s order, e orderPaid) order {
		if e.Amount == 13 {
			panic("unlucky amount")
		}
		s.Paid = true
		return s
	})
	repo := newRepo(t, s, d)
	if _, err := repo.Handle(ctx, "a1", place("ada")); err != nil {
		t.Fatal(err)
	}
	pay := func(order) ([]orderEvent, error) { return []orderEvent{orderPaid{Amount: 13}}, nil }
	isApplyPanic := func(what string, err error) {
		t.Helper()
		var ee *aggregate.EventError
		if !errors.Is(err, aggregate.ErrApplyPanic) || !errors.As(err, &ee) || ee.Version != 2 || ee.Type != "OrderPaid" ||
			!strings.Contains(err.Error(), "unlucky amount") {
			t.Fatalf("%s: %v; want ErrApplyPanic naming OrderPaid at version 2", what, err)
		}
	}
	res, err := repo.Handle(ctx, "a1", pay, aggregate.CommandID("pay-1"))
	isApplyPanic("Handle", err)
	if res.Version != 2 || len(res.Events) != 1 {
		t.Fatalf("Handle's result: %+v; want the stored event at version 2", res)
	}
	_, err = repo.Load(ctx, "a1")
	isApplyPanic("Load", err)
	_, err = repo.LoadVersion(ctx, "a1", 2)
	isApplyPanic("LoadVersion(2)", err)
	if l, err := repo.LoadVersion(ctx, "a1", 1); err != nil || l.State.Status != "placed" {
		t.Fatalf("LoadVersion(1): %+v, %v", l, err)
	}
	// The retry decides nothing and appends nothing.
	if _, err := repo.Handle(ctx, "a1", pay, aggregate.CommandID("pay-1")); err != nil && !errors.Is(err, aggregate.ErrApplyPanic) {
		t.Fatalf("the retry: %v", err)
	}
	stream, err := d.Stream("a1")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range s.Read(ctx, stream) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("the stream holds %d events, want 2", n)
	}
}
