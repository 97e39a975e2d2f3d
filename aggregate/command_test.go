package aggregate_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
)

// reopen closes s and opens the store in dir again, then rebuilds its
// read index when rebuild is set.
func reopen(t *testing.T, s *eventstore.Store, dir string, rebuild bool) *eventstore.Store {
	t.Helper()
	ctx := context.Background()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if rebuild {
		if err := s.Reindex(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// ensurePaid is an "ensure"-style decider: it pays a placed order and has
// nothing to do for an order that is not placed or is paid already.
func ensurePaid(s order) ([]orderEvent, error) {
	if s.Status == "" || s.Paid {
		return nil, nil
	}
	return []orderEvent{orderPaid{Amount: s.Total}}, nil
}

// TestCommandIDNothingToDoOnce: a command id whose first handling decided
// nothing keeps that outcome after the state changed, in this repository,
// in another, after a restart and after a rebuild of the read index; the
// record is no event (the stream and the state show none).
func TestCommandIDNothingToDoOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	repo := newRepo(t, s, defineOrders())
	first, err := repo.Handle(ctx, "n1", ensurePaid, aggregate.CommandID("ensure-1"))
	if err != nil || first.Duplicate || len(first.Events) != 0 || first.Version != 0 || first.FirstVersion != 0 {
		t.Fatalf("first handling: %+v, %v; want nothing done", first, err)
	}
	if _, err := repo.Handle(ctx, "n1", place("ada")); err != nil {
		t.Fatal(err)
	}
	check := func(when string, s *eventstore.Store) {
		t.Helper()
		r := newRepo(t, s, defineOrders())
		again, err := r.Handle(ctx, "n1", ensurePaid, aggregate.CommandID("ensure-1"))
		if err != nil || !again.Duplicate || len(again.Events) != 0 || again.Version != 0 {
			t.Fatalf("%s: again: %+v, %v; want the original nothing, Duplicate", when, again, err)
		}
		l, err := r.Load(ctx, "n1")
		if err != nil || l.Version != 1 || l.State.Paid {
			t.Fatalf("%s: state %+v, %v; want placed, unpaid, at version 1", when, l, err)
		}
		var n int
		for _, err := range s.Read(ctx, "orders/n1/events") {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 1 {
			t.Fatalf("%s: the stream reads %d events, want 1", when, n)
		}
	}
	check("same store", s)
	s = reopen(t, s, dir, false)
	check("after a restart", s)
	s = reopen(t, s, dir, true)
	check("after a rebuild", s)
	// The next command goes on as usual.
	if res, err := newRepo(t, s, defineOrders()).Handle(ctx, "n1", ensurePaid, aggregate.CommandID("ensure-2")); err != nil || len(res.Events) != 1 || res.Version != 2 || res.FirstVersion != 2 {
		t.Fatalf("a new id: %+v, %v", res, err)
	}
}

// TestCommandIDRefusalOnce: a refused command id is refused again, with a
// recognisable error, after the state changed: errors.Is against the
// decider's error when the definition registers it, a *RefusedError with
// the original message otherwise; across a restart and a rebuild.
func TestCommandIDRefusalOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	registered := func() *aggregate.Definition[order, orderEvent] {
		d := defineOrders()
		d.RegisterError("not-placed", errNotPlaced)
		d.RegisterError("bad-quantity", errBadQuantity)
		return d
	}
	repo := newRepo(t, s, registered())
	if _, err := repo.Handle(ctx, "r1", addItem("pen", 1, 5), aggregate.CommandID("add-1")); !errors.Is(err, errNotPlaced) {
		t.Fatalf("first handling: %v, want errNotPlaced", err)
	}
	if _, err := repo.Handle(ctx, "r1", place("ada")); err != nil {
		t.Fatal(err)
	}
	_, err = repo.Handle(ctx, "r1", addItem("pen", -2, 5), aggregate.CommandID("add-neg"))
	if !errors.Is(err, errBadQuantity) {
		t.Fatal(err)
	}
	wantMsg := err.Error()
	check := func(when string, s *eventstore.Store) {
		t.Helper()
		r := newRepo(t, s, registered())
		res, err := r.Handle(ctx, "r1", addItem("pen", 1, 5), aggregate.CommandID("add-1"))
		var refused *aggregate.RefusedError
		if !errors.Is(err, errNotPlaced) || !errors.Is(err, aggregate.ErrRefused) || !errors.As(err, &refused) ||
			refused.Code != "not-placed" || err.Error() != errNotPlaced.Error() {
			t.Fatalf("%s: again: %+v, %v; want the original refusal", when, res, err)
		}
		if _, err := r.Handle(ctx, "r1", addItem("pen", 1, 5), aggregate.CommandID("add-neg")); !errors.Is(err, errBadQuantity) || err.Error() != wantMsg {
			t.Fatalf("%s: a wrapped refusal again: %v, want %q", when, err, wantMsg)
		}
		// A definition that registers nothing still gives the refusal,
		// with its message.
		plain := newRepo(t, s, defineOrders())
		_, err = plain.Handle(ctx, "r1", addItem("pen", 1, 5), aggregate.CommandID("add-1"))
		if !errors.As(err, &refused) || refused.Message != errNotPlaced.Error() || errors.Is(err, errNotPlaced) {
			t.Fatalf("%s: unregistered: %v; want a *RefusedError with the message", when, err)
		}
		if l, err := r.Load(ctx, "r1"); err != nil || l.Version != 1 || len(l.State.Items) != 0 {
			t.Fatalf("%s: state %+v, %v; want placed with no items", when, l, err)
		}
	}
	check("same store", s)
	s = reopen(t, s, dir, false)
	check("after a restart", s)
	s = reopen(t, s, dir, true)
	check("after a rebuild", s)
}

// TestCommandIDBeforeDecider: a command id handled before runs no decider:
// three Handles of one id run it once, whatever its outcome.
func TestCommandIDBeforeDecider(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	repo := newRepo(t, s, defineOrders())
	for name, decide := range map[string]func(order) ([]orderEvent, error){
		"events":  place("ada"),
		"nothing": ensurePaid,
		"refusal": addItem("pen", 0, 1),
	} {
		var calls atomic.Int32
		counted := func(o order) ([]orderEvent, error) {
			calls.Add(1)
			return decide(o)
		}
		id := "b-" + name
		if name != "events" {
			if _, err := repo.Handle(ctx, id, place("bob")); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			repo.Handle(ctx, id, counted, aggregate.CommandID("cmd-"+name)) //nolint:errcheck // the outcome is checked elsewhere
		}
		if n := calls.Load(); n != 1 {
			t.Fatalf("%s: the decider ran %d times for three Handles of one id, want 1", name, n)
		}
	}
}

// TestCommandIDFingerprint: an id used again by a different command is an
// error (ErrCommandIDReused) and decides nothing; the same command gets
// its outcome.
func TestCommandIDFingerprint(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	repo := newRepo(t, s, defineOrders())
	if _, err := repo.Handle(ctx, "f1", place("ada")); err != nil {
		t.Fatal(err)
	}
	first, err := repo.Handle(ctx, "f1", addItem("mug", 1, 1250), aggregate.CommandID("k-1"), aggregate.Fingerprint([]byte(`AddItem {"sku":"mug","qty":1}`)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = repo.Handle(ctx, "f1", addItem("pen", 9, 100), aggregate.CommandID("k-1"), aggregate.Fingerprint([]byte(`AddItem {"sku":"pen","qty":9}`)))
	var reused *aggregate.ReusedIDError
	if !errors.Is(err, aggregate.ErrCommandIDReused) || !errors.As(err, &reused) || reused.CommandID != "k-1" {
		t.Fatalf("another command under a used id: %v, want ErrCommandIDReused", err)
	}
	again, err := repo.Handle(ctx, "f1", addItem("mug", 1, 1250), aggregate.CommandID("k-1"), aggregate.Fingerprint([]byte(`AddItem {"sku":"mug","qty":1}`)))
	if err != nil || !again.Duplicate || again.Version != first.Version || len(again.Events) != 1 {
		t.Fatalf("the same command again: %+v, %v", again, err)
	}
	// A retry that gives no fingerprint is taken for the command the id
	// was recorded with (the documented rule): its outcome, nothing decided.
	bare, err := repo.Handle(ctx, "f1", addItem("pen", 9, 100), aggregate.CommandID("k-1"))
	if err != nil || !bare.Duplicate || bare.Version != first.Version {
		t.Fatalf("the id again without a fingerprint: %+v, %v", bare, err)
	}
	// A recorded "nothing to do" and a refusal keep their fingerprints too.
	if _, err := repo.Handle(ctx, "f2", ensurePaid, aggregate.CommandID("k-2"), aggregate.Fingerprint([]byte("ensure"))); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Handle(ctx, "f2", place("x"), aggregate.CommandID("k-2"), aggregate.Fingerprint([]byte("place"))); !errors.Is(err, aggregate.ErrCommandIDReused) {
		t.Fatalf("reuse of a nothing-to-do id: %v", err)
	}
	if l, _ := repo.Load(ctx, "f2"); l.Version != 0 {
		t.Fatalf("the reuse decided: version %d", l.Version)
	}
}

// TestHandleBadInput: an empty command id is an error, not "no id"; a nil
// decider is an error; a panicking decider is an error (the panic does not
// escape) and records nothing.
func TestHandleBadInput(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	repo := newRepo(t, s, defineOrders())
	if _, err := repo.Handle(ctx, "h1", place("ada"), aggregate.CommandID("")); !errors.Is(err, aggregate.ErrInvalidCommand) {
		t.Fatalf("CommandID(\"\"): %v, want ErrInvalidCommand", err)
	}
	if _, err := repo.Handle(ctx, "h1", place("ada"), aggregate.CommandID(strings.Repeat("k", eventstore.MaxCommandIDLen+1))); !errors.Is(err, aggregate.ErrInvalidCommand) {
		t.Fatalf("a too long command id: %v, want ErrInvalidCommand", err)
	}
	if _, err := repo.Handle(ctx, "h1", nil); !errors.Is(err, aggregate.ErrInvalidCommand) {
		t.Fatalf("nil decider: %v, want ErrInvalidCommand", err)
	}
	for _, content := range [][]byte{nil, {}} {
		if _, err := repo.Handle(ctx, "h1", place("ada"), aggregate.CommandID("f-1"), aggregate.Fingerprint(content)); !errors.Is(err, aggregate.ErrInvalidCommand) {
			t.Fatalf("Fingerprint(%#v): %v, want ErrInvalidCommand", content, err)
		}
	}
	if l, err := repo.Load(ctx, "h1"); err != nil || l.Version != 0 {
		t.Fatalf("after the refused commands: version %d, %v; want nothing stored", l.Version, err)
	}
	panics := func(order) ([]orderEvent, error) { panic("boom") }
	for range 2 {
		if _, err := repo.Handle(ctx, "h1", panics, aggregate.CommandID("p-1")); !errors.Is(err, aggregate.ErrDeciderPanic) || !strings.Contains(err.Error(), "boom") {
			t.Fatalf("panicking decider: %v, want ErrDeciderPanic", err)
		}
	}
	// Nothing was recorded for the panic: the id decides when it works.
	if res, err := repo.Handle(ctx, "h1", place("ada"), aggregate.CommandID("p-1")); err != nil || res.Duplicate || res.Version != 1 {
		t.Fatalf("after the panics: %+v, %v", res, err)
	}
}

// TestProducerNothingToDo: a producer's sequence number that decided
// nothing is recorded too: it is a duplicate when it comes again, and the
// next number follows it without a gap.
func TestProducerNothingToDo(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t, openStore(t), defineOrders())
	if res, err := repo.Handle(ctx, "p1", ensurePaid, aggregate.Producer("feed", 1, 0)); err != nil || res.Duplicate {
		t.Fatalf("seq 0: %+v, %v", res, err)
	}
	if res, err := repo.Handle(ctx, "p1", place("ada"), aggregate.Producer("feed", 1, 1)); err != nil || res.Duplicate || res.Version != 1 {
		t.Fatalf("seq 1 after a seq that decided nothing: %+v, %v", res, err)
	}
	if res, err := repo.Handle(ctx, "p1", ensurePaid, aggregate.Producer("feed", 1, 0)); err != nil || !res.Duplicate || len(res.Events) != 0 {
		t.Fatalf("seq 0 again: %+v, %v", res, err)
	}
}

// TestCommandIDClosedStream: on a closed stream, which takes no record, a
// command with an id that decides nothing or is refused still gets its
// decision.
func TestCommandIDClosedStream(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	repo := newRepo(t, s, defineOrders())
	if _, err := repo.Handle(ctx, "cl", place("ada")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "orders/cl/events", nil, eventstore.WithClose()); err != nil {
		t.Fatal(err)
	}
	nothing := func(order) ([]orderEvent, error) { return nil, nil }
	if res, err := repo.Handle(ctx, "cl", nothing, aggregate.CommandID("c-1")); err != nil || res.Version != 1 {
		t.Fatalf("nothing to do on a closed stream: %+v, %v", res, err)
	}
	if _, err := repo.Handle(ctx, "cl", place("bob"), aggregate.CommandID("c-2")); !errors.Is(err, errPlaced) {
		t.Fatalf("a refusal on a closed stream: %v, want errPlaced", err)
	}
	if _, err := repo.Handle(ctx, "cl", addItem("pen", 1, 1), aggregate.CommandID("c-3")); !errors.Is(err, eventstore.ErrStreamClosed) {
		t.Fatalf("events on a closed stream: %v, want ErrStreamClosed", err)
	}
}
