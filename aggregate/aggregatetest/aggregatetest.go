// Package aggregatetest checks deciders in the given/when/then style:
// given the events an instance already has, when a command is decided,
// then these events (or this error) come out. Spec runs the decider on a
// state folded with the aggregate's own Definition, with no store;
// StoreSpec runs the same through a Repository on a real store, so that
// encoding, the version check and the read back are part of the test.
package aggregatetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
)

// Spec is one given/when/then case on a decider, with no store.
type Spec[S, E any] struct {
	def    *aggregate.Definition[S, E]
	given  []any
	decide func(S) ([]E, error)
}

// Given starts a case: the instance already has events. Each argument is
// an event (a value of one of the aggregate's event types) or a []E of
// them; anything else fails the case when it runs. The arguments are
// ...any so that Given(def, OrderPlaced{}) needs no type arguments: Go
// cannot infer E from def and check a concrete event against it in one
// call.
func Given[S, E any](def *aggregate.Definition[S, E], events ...any) *Spec[S, E] {
	return &Spec[S, E]{def: def, given: events}
}

// asEvents turns Given's arguments into E values.
func asEvents[E any](t testing.TB, given []any) []E {
	t.Helper()
	out := make([]E, 0, len(given))
	for i, g := range given {
		switch g := g.(type) {
		case []E:
			out = append(out, g...)
		case E:
			out = append(out, g)
		default:
			t.Fatalf("given argument %d, %T, is not one of the aggregate's events (%v) nor a slice of them", i, g, reflect.TypeFor[E]())
		}
	}
	return out
}

// When sets the command, as the decider that Handle would run.
func (s *Spec[S, E]) When(decide func(S) ([]E, error)) *Spec[S, E] {
	s.decide = decide
	return s
}

// run folds the given events and decides. A case without When, or whose
// decider panics (Handle would return ErrDeciderPanic), fails.
func (s *Spec[S, E]) run(t testing.TB) (S, []E, error) {
	t.Helper()
	if s.decide == nil {
		t.Fatalf("no command: call When before Then")
	}
	state := s.def.Evolve(s.def.Initial(), asEvents[E](t, s.given)...)
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("decider panicked: %v", p)
		}
	}()
	events, err := s.decide(state)
	return state, events, err
}

// Then checks that the decider returns exactly want (deep equality, in
// order) and no error, and that every event it returns is one the
// definition can store and read back. Then with no events accepts a nil
// or an empty slice, as Handle treats both alike.
func (s *Spec[S, E]) Then(t testing.TB, want ...E) {
	t.Helper()
	_, got, err := s.run(t)
	if err != nil {
		t.Fatalf("decider failed: %v; want events %s", err, describe(want))
	}
	checkEvents(t, s.def, got, want)
}

// ThenError checks that the decider fails with an error matching want
// (errors.Is) and returns no events. A nil want fails the case: it would
// match a decider that succeeds.
func (s *Spec[S, E]) ThenError(t testing.TB, want error) {
	t.Helper()
	if want == nil {
		t.Fatalf("ThenError needs the error the decider fails with (Then checks a success)")
	}
	_, got, err := s.run(t)
	if !errors.Is(err, want) {
		t.Fatalf("decider returned %v (events %s); want error %v", err, describe(got), want)
	}
	if len(got) != 0 {
		t.Fatalf("decider returned events %s with its error", describe(got))
	}
}

// ThenState checks the state after the decided events are applied.
func (s *Spec[S, E]) ThenState(t testing.TB, want S) {
	t.Helper()
	state, got, err := s.run(t)
	if err != nil {
		t.Fatalf("decider failed: %v", err)
	}
	if after := s.def.Evolve(state, got...); !reflect.DeepEqual(after, want) {
		t.Fatalf("state after the command: %+v\nwant %+v", after, want)
	}
}

func checkEvents[S, E any](t testing.TB, def *aggregate.Definition[S, E], got, want []E) {
	t.Helper()
	if len(got) != len(want) || len(got) > 0 && !reflect.DeepEqual(got, want) {
		t.Fatalf("decider returned %s\nwant %s", describe(got), describe(want))
	}
	stored, err := def.Encode(got)
	if err != nil {
		t.Fatalf("the events cannot be stored: %v", err)
	}
	for i, e := range stored {
		back, err := def.Decode(e)
		if err != nil {
			t.Fatalf("event %d does not read back: %v", i, err)
		}
		if !reflect.DeepEqual(back, got[i]) {
			t.Fatalf("event %d reads back as %+v, was %+v", i, back, got[i])
		}
	}
}

func describe[E any](events []E) string {
	if len(events) == 0 {
		return "[]"
	}
	s := "["
	for i, e := range events {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%T%+v", e, e)
	}
	return s + "]"
}

// StoreSpec is a given/when/then case run through a Repository on a real
// store: the given events are appended to the instance's stream, the
// command is handled by Handle, and the events appended are checked.
type StoreSpec[S, E any] struct {
	repo   *aggregate.Repository[S, E]
	store  *eventstore.Store
	id     string
	given  []any
	decide func(S) ([]E, error)
	opts   []aggregate.HandleOption
}

// GivenStore starts a case on instance id of repo, whose store is store
// (use an id no other case uses). As with Given, each event must be an E.
func GivenStore[S, E any](store *eventstore.Store, repo *aggregate.Repository[S, E], id string, events ...any) *StoreSpec[S, E] {
	return &StoreSpec[S, E]{repo: repo, store: store, id: id, given: events}
}

// When sets the command and its Handle options.
func (s *StoreSpec[S, E]) When(decide func(S) ([]E, error), opts ...aggregate.HandleOption) *StoreSpec[S, E] {
	s.decide, s.opts = decide, opts
	return s
}

func (s *StoreSpec[S, E]) run(t testing.TB) (aggregate.Result[E], error) {
	t.Helper()
	ctx := context.Background()
	def := s.repo.Definition()
	stream, err := def.Stream(s.id)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.given) > 0 {
		stored, err := def.Encode(asEvents[E](t, s.given))
		if err != nil {
			t.Fatalf("given events: %v", err)
		}
		if _, err := s.store.Append(ctx, stream, stored, eventstore.ExpectVersion(0)); err != nil {
			t.Fatalf("given events: %v", err)
		}
	}
	return s.repo.Handle(ctx, s.id, s.decide, s.opts...)
}

// Then checks the events the command appended, as read back from the
// stream.
func (s *StoreSpec[S, E]) Then(t testing.TB, want ...E) aggregate.Result[E] {
	t.Helper()
	res, err := s.run(t)
	if err != nil {
		t.Fatalf("handle failed: %v; want events %s", err, describe(want))
	}
	checkEvents(t, s.repo.Definition(), res.Events, want)
	ctx := context.Background()
	stream, _ := s.repo.Definition().Stream(s.id)
	var back []E
	for e, err := range s.store.Read(ctx, stream, eventstore.FromVersion(uint64(len(s.given))+1)) {
		if err != nil {
			t.Fatal(err)
		}
		ev, err := s.repo.Definition().Decode(e)
		if err != nil {
			t.Fatal(err)
		}
		back = append(back, ev)
	}
	if !reflect.DeepEqual(back, want) && !(len(back) == 0 && len(want) == 0) {
		t.Fatalf("the stream holds %s after the command, want %s", describe(back), describe(want))
	}
	return res
}

// ThenError checks that Handle fails with an error matching want and that
// nothing was appended.
func (s *StoreSpec[S, E]) ThenError(t testing.TB, want error) {
	t.Helper()
	res, err := s.run(t)
	if !errors.Is(err, want) {
		t.Fatalf("handle returned %v (%+v); want error %v", err, res, want)
	}
	ctx := context.Background()
	stream, _ := s.repo.Definition().Stream(s.id)
	h, err := s.store.Head(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != uint64(len(s.given)) {
		t.Fatalf("the stream is at version %d after a refused command, want %d", h.Version, len(s.given))
	}
}
