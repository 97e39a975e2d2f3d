package observe

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// The hooks of package projection. A user has no need to call them.

// StartBatch begins the application of a batch of events to projection.
func (o *Observer) StartBatch(ctx context.Context, projection string, events int, replay bool) (context.Context, Span) {
	if o.traced() == nil {
		return o.start(ctx, "", trace.SpanKindInternal)
	}
	return o.start(ctx, "projection.Batch", trace.SpanKindInternal, attribute.String("rewind.projection", projection),
		attribute.Int("rewind.events", events), attribute.Bool("rewind.replay", replay))
}

// EndBatch ends a batch begun with StartBatch.
func (o *Observer) EndBatch(s Span, projection string, events int, err error) {
	if m := o.metrics(); m != nil && err == nil {
		m.batches.WithLabelValues(projection).Inc()
		m.batchEvents.WithLabelValues(projection).Add(float64(events))
		m.batchSeconds.WithLabelValues(projection).Observe(s.seconds())
	}
	s.end(err)
}

// ProjectionRetry counts a batch of projection tried again after a
// failure.
func (o *Observer) ProjectionRetry(projection string) {
	if m := o.metrics(); m != nil {
		m.projRetries.WithLabelValues(projection).Inc()
	}
}

// ProjectionPoison counts a poison event of projection: deadLettered
// when it was stored in the dead letters and skipped, else the projection
// stopped on it.
func (o *Observer) ProjectionPoison(projection string, deadLettered bool) {
	if m := o.metrics(); m != nil {
		policy := "stop"
		if deadLettered {
			policy = "dead-letter"
		}
		m.projPoison.WithLabelValues(projection, policy).Inc()
	}
}
