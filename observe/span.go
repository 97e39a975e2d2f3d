package observe

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Span is one operation under observation: when it began and, when the
// Observer traces, its span. The zero Span (from a nil Observer) does
// nothing.
type Span struct {
	start time.Time
	span  trace.Span // nil when not tracing
}

// start begins an operation: its time when o counts metrics, its span
// (a child of ctx's) when o traces.
func (o *Observer) start(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, Span) {
	var s Span
	if o.Metrics() {
		s.start = time.Now()
	}
	if t := o.traced(); t != nil {
		ctx, s.span = t.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	}
	return ctx, s
}

// seconds is the operation's duration so far.
func (s Span) seconds() float64 { return time.Since(s.start).Seconds() }

// end ends the span, with err as its error status.
func (s Span) end(err error, attrs ...attribute.KeyValue) {
	if s.span == nil {
		return
	}
	if len(attrs) > 0 {
		s.span.SetAttributes(attrs...)
	}
	if err != nil {
		s.span.RecordError(err)
		s.span.SetStatus(codes.Error, err.Error())
	}
	s.span.End()
}

// TraceParent returns the W3C traceparent of the span in ctx
// ("00-<trace id>-<span id>-<flags>"), or "" when o does not trace or ctx
// holds no valid span. The store records it in the metadata of the
// events an Append stores (key MetadataKey).
func (o *Observer) TraceParent(ctx context.Context) string {
	if !o.Tracing() {
		return ""
	}
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
}

// MetadataKey is the metadata key under which an Append made under a
// traced span records its W3C traceparent, unless the event already has
// one: the trace id of an event's causation is then found in the event.
const MetadataKey = "traceparent"
