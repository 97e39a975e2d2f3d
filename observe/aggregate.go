package observe

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// The hooks of package aggregate. A user has no need to call them.

// Command outcomes, for EndHandle.
const (
	CommandOK        = "ok"
	CommandNoop      = "noop"
	CommandRefused   = "refused"
	CommandDuplicate = "duplicate"
	CommandConflict  = "conflict"
	CommandError     = "error"
)

// StartHandle begins a Handle of a command on stream, an instance of
// aggregate (its type's name).
func (o *Observer) StartHandle(ctx context.Context, aggregate, stream string) (context.Context, Span) {
	if o.traced() == nil {
		return o.start(ctx, "", trace.SpanKindInternal)
	}
	return o.start(ctx, "aggregate.Handle", trace.SpanKindInternal,
		attribute.String("rewind.aggregate", aggregate), attribute.String("rewind.stream", stream))
}

// EndHandle ends a Handle begun with StartHandle.
func (o *Observer) EndHandle(s Span, aggregate, outcome string, err error) {
	if m := o.metrics(); m != nil {
		m.commands.WithLabelValues(aggregate, outcome).Inc()
		m.commandSeconds.WithLabelValues(aggregate).Observe(s.seconds())
	}
	if outcome == CommandRefused {
		err = nil // the decider's answer, not a failure of the handling
	}
	s.end(err, attribute.String("rewind.outcome", outcome))
}

// StartDecide begins a run of a decider, the attempt-th (1 for the first)
// of a Handle. Only a span: its time is the Handle's.
func (o *Observer) StartDecide(ctx context.Context, attempt int) Span {
	if o.traced() == nil {
		return Span{}
	}
	_, s := o.tracer.Start(ctx, "aggregate.Decide", trace.WithAttributes(attribute.Int("rewind.attempt", attempt)))
	return Span{span: s}
}

// EndDecide ends a decider's run; refused tells whether it refused the
// command (an answer, not an error of the span).
func (o *Observer) EndDecide(s Span, events int, refused bool) {
	s.end(nil, attribute.Int("rewind.events", events), attribute.Bool("rewind.refused", refused))
}

// StartRetry begins the pause before a Handle's attempt-th try (2 for the
// first retry), after a concurrency conflict.
func (o *Observer) StartRetry(ctx context.Context, aggregate string, attempt int) Span {
	if m := o.metrics(); m != nil {
		m.commandRetries.WithLabelValues(aggregate).Inc()
	}
	if o.traced() == nil {
		return Span{}
	}
	_, s := o.tracer.Start(ctx, "aggregate.Retry", trace.WithAttributes(attribute.Int("rewind.attempt", attempt)))
	return Span{span: s}
}

// EndRetry ends the pause begun with StartRetry.
func (o *Observer) EndRetry(s Span, err error) { s.end(err) }

// CacheLookup counts a lookup of a repository's cache by Handle.
func (o *Observer) CacheLookup(aggregate string, hit bool) {
	if m := o.metrics(); m != nil {
		result := "miss"
		if hit {
			result = "hit"
		}
		m.cache.WithLabelValues(aggregate, result).Inc()
	}
}

// StartLoad begins a load of stream, an instance of aggregate.
func (o *Observer) StartLoad(ctx context.Context, aggregate, stream string) (context.Context, Span) {
	if o.traced() == nil {
		return o.start(ctx, "", trace.SpanKindInternal)
	}
	return o.start(ctx, "aggregate.Load", trace.SpanKindInternal,
		attribute.String("rewind.aggregate", aggregate), attribute.String("rewind.stream", stream))
}

// EndLoad ends a load begun with StartLoad, which replayed events, from a
// snapshot or not.
func (o *Observer) EndLoad(s Span, aggregate string, fromSnapshot bool, events int, err error) {
	if m := o.metrics(); m != nil && err == nil {
		snap := "false"
		if fromSnapshot {
			snap = "true"
		}
		m.loads.WithLabelValues(aggregate, snap).Inc()
		m.loadEvents.WithLabelValues(aggregate).Add(float64(events))
		m.loadSeconds.WithLabelValues(aggregate).Observe(s.seconds())
	}
	s.end(err, attribute.Bool("rewind.snapshot", fromSnapshot), attribute.Int("rewind.events", events))
}
