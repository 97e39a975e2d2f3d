package aggregate

import (
	"context"
	"errors"
	"time"

	"github.com/rewindhq/rewind/observe"
)

// A repository reports to its store's Observer (eventstore.WithObserver):
// each Handle is a span ("aggregate.Handle") whose children are each run
// of the decider ("aggregate.Decide"), each append (the store's
// "eventstore.Append", which records the trace in the events' metadata)
// and each pause before a retry ("aggregate.Retry"); and the metrics
// rewind_commands_total (by aggregate and outcome), rewind_command_*,
// rewind_aggregate_cache_total and rewind_load*.

// observedHandle is Handle under the store's Observer o.
func (r *Repository[S, E]) observedHandle(ctx context.Context, o *observe.Observer, id string, decide func(S) ([]E, error), opts []HandleOption) (Result[E], error) {
	agg := r.def.Category()
	ctx, span := o.StartHandle(ctx, agg, r.def.stream(id))
	attempt := 0
	var refusal error
	traced := func(s S) (events []E, err error) {
		attempt++
		ds := o.StartDecide(ctx, attempt)
		defer func() { o.EndDecide(ds, len(events), err != nil) }()
		events, err = decide(s)
		refusal = err
		return events, err
	}
	res, err := r.handle(ctx, id, traced, opts...)
	o.EndHandle(span, agg, commandOutcome(res, err, refusal), err)
	return res, err
}

// commandOutcome classifies a Handle's result for the metrics: refusal is
// the decider's last error.
func commandOutcome[E any](res Result[E], err, refusal error) string {
	var refused *RefusedError
	switch {
	case err == nil && res.Duplicate:
		return observe.CommandDuplicate
	case err == nil && len(res.Events) == 0:
		return observe.CommandNoop
	case err == nil:
		return observe.CommandOK
	case refusal != nil && errors.Is(err, refusal), errors.As(err, &refused):
		return observe.CommandRefused
	case errors.Is(err, ErrTooManyConflicts):
		return observe.CommandConflict
	}
	return observe.CommandError
}

// loadFacts is what a load tells the metrics: whether it began from a
// snapshot, and the snapshot's version.
type loadFacts struct {
	snapshot bool
	base     uint64
}

// observedLoad is load under the store's Observer o.
func (r *Repository[S, E]) observedLoad(ctx context.Context, o *observe.Observer, id string, v uint64, t time.Time) (Loaded[S], error) {
	agg := r.def.Category()
	ctx, span := o.StartLoad(ctx, agg, r.def.stream(id))
	var facts loadFacts
	l, err := r.fold(ctx, id, v, t, &facts)
	o.EndLoad(span, agg, facts.snapshot, int(l.Version-min(facts.base, l.Version)), err)
	return l, err
}
