package observe

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// The hooks of package eventstore. A user has no need to call them.

// StartAppend begins an Append of events to stream.
func (o *Observer) StartAppend(ctx context.Context, stream string, events int) (context.Context, Span) {
	if o.traced() == nil {
		return o.start(ctx, "", trace.SpanKindInternal)
	}
	return o.start(ctx, "eventstore.Append", trace.SpanKindInternal,
		attribute.String("rewind.stream", stream), attribute.Int("rewind.events", events))
}

// Append outcomes, for EndAppend.
const (
	AppendOK        = "ok"
	AppendDuplicate = "duplicate"
	AppendConflict  = "conflict"
	AppendFenced    = "fenced"
	AppendGap       = "gap"
	AppendClosed    = "closed"
	AppendInvalid   = "invalid"
	AppendError     = "error"
)

// AppendReport is what an Append did, for EndAppend.
type AppendReport struct {
	// Outcome is one of the Append outcomes (AppendOK ...).
	Outcome string
	// Producer is true for an append of an idempotent producer (then a
	// duplicate's reason is "producer", else "command").
	Producer bool
	// Events and Bytes are what was stored (zero unless AppendOK).
	Events, Bytes int
	// Version is the stream's version after it.
	Version uint64
	Err     error
}

// EndAppend ends an Append begun with StartAppend.
func (o *Observer) EndAppend(s Span, r AppendReport) {
	if m := o.metrics(); m != nil {
		m.appendSeconds.Observe(s.seconds())
		m.appends.WithLabelValues(r.Outcome).Inc()
		switch r.Outcome {
		case AppendOK:
			m.appendEvents.Add(float64(r.Events))
			m.appendBytes.Add(float64(r.Bytes))
		case AppendDuplicate:
			reason := "command"
			if r.Producer {
				reason = "producer"
			}
			m.duplicates.WithLabelValues(reason).Inc()
		case AppendFenced, AppendGap:
			m.producerRefused.WithLabelValues(r.Outcome).Inc()
		}
	}
	if s.span != nil {
		s.end(r.Err, attribute.String("rewind.outcome", r.Outcome), attribute.Int64("rewind.version", int64(r.Version)))
	}
}

// StartRead begins a Read of stream.
func (o *Observer) StartRead(ctx context.Context, stream string) (context.Context, Span) {
	if o.traced() == nil {
		return o.start(ctx, "", trace.SpanKindInternal)
	}
	return o.start(ctx, "eventstore.Read", trace.SpanKindInternal, attribute.String("rewind.stream", stream))
}

// EndRead ends a Read begun with StartRead, which delivered events.
func (o *Observer) EndRead(s Span, events int, err error) {
	if m := o.metrics(); m != nil {
		m.reads.Inc()
		m.readEvents.Add(float64(events))
		m.readSeconds.Observe(s.seconds())
	}
	s.end(err, attribute.Int("rewind.events", events))
}

// IndexRebuilt counts a rebuild of a read index.
func (o *Observer) IndexRebuilt() {
	if m := o.metrics(); m != nil {
		m.indexRebuilds.Inc()
	}
}

// IndexStalled counts a wait for the read index that gave up.
func (o *Observer) IndexStalled() {
	if m := o.metrics(); m != nil {
		m.indexStalls.Inc()
	}
}

// GroupCommit counts one fsync round of the group commit, shared by
// appenders, which took took.
func (o *Observer) GroupCommit(appenders int, took time.Duration) {
	if m := o.metrics(); m != nil {
		m.groupRounds.Inc()
		m.groupAppenders.Observe(float64(appenders))
		m.fsyncSeconds.Observe(took.Seconds())
	}
}

// metrics returns o's instruments, nil when o counts none.
func (o *Observer) metrics() *metrics {
	if o == nil {
		return nil
	}
	return o.m
}
