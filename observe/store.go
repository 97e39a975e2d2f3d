package observe

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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

// Kinds of reads and subscriptions, the label "kind".
const (
	ReadStream   = "stream"   // Read, Subscribe: one stream
	ReadCategory = "category" // ReadCategory, SubscribeCategory
	ReadAll      = "all"      // ReadAll, SubscribeAll
	ReadStreams  = "streams"  // ReadStreams, SubscribeStreams: a list of streams
)

// StartRead begins a Read of stream.
func (o *Observer) StartRead(ctx context.Context, stream string) (context.Context, Span) {
	if o.traced() == nil {
		return o.start(ctx, "", trace.SpanKindInternal)
	}
	return o.start(ctx, "eventstore.Read", trace.SpanKindInternal, attribute.String("rewind.stream", stream))
}

// EndRead ends a Read begun with StartRead, which delivered events.
func (o *Observer) EndRead(s Span, events int, err error) { o.EndLogRead(s, ReadStream, events, err) }

// logReadSpans name the spans of the reads in log order, by kind.
var logReadSpans = map[string]string{ReadCategory: "eventstore.ReadCategory", ReadAll: "eventstore.ReadAll",
	ReadStreams: "eventstore.ReadStreams"}

// StartLogRead begins a read in log order of kind (ReadCategory, ReadAll
// or ReadStreams); name is the category, or "".
func (o *Observer) StartLogRead(ctx context.Context, kind, name string) (context.Context, Span) {
	if o.traced() == nil {
		return o.start(ctx, "", trace.SpanKindInternal)
	}
	if name == "" {
		return o.start(ctx, logReadSpans[kind], trace.SpanKindInternal)
	}
	return o.start(ctx, logReadSpans[kind], trace.SpanKindInternal, attribute.String("rewind.category", name))
}

// EndLogRead ends a read of kind begun with StartLogRead (or StartRead),
// which delivered events.
func (o *Observer) EndLogRead(s Span, kind string, events int, err error) {
	if m := o.metrics(); m != nil {
		m.reads.WithLabelValues(kind).Inc()
		m.readEvents.WithLabelValues(kind).Add(float64(events))
		m.readSeconds.WithLabelValues(kind).Observe(s.seconds())
	}
	s.end(err, attribute.Int("rewind.events", events))
}

// Subscription counts what one subscription delivers. A nil
// *Subscription (from an Observer that counts no metrics) does nothing.
type Subscription struct {
	active prometheus.Gauge
	events prometheus.Counter
	lag    prometheus.Observer
}

// StartSubscription counts a subscription of kind (ReadStream ...) that
// starts; End it when it ends. A subscription makes no span: it lives as
// long as its subscriber.
func (o *Observer) StartSubscription(kind string) *Subscription {
	m := o.metrics()
	if m == nil {
		return nil
	}
	m.subsStarted.WithLabelValues(kind).Inc()
	s := &Subscription{active: m.subsActive.WithLabelValues(kind), events: m.subEvents.WithLabelValues(kind),
		lag: m.subLag.WithLabelValues(kind)}
	s.active.Inc()
	return s
}

// Delivered counts an event delivered, which the store stored at
// storedAt.
func (s *Subscription) Delivered(storedAt time.Time) {
	if s == nil {
		return
	}
	s.events.Inc()
	s.lag.Observe(max(time.Since(storedAt).Seconds(), 0))
}

// End counts the subscription's end.
func (s *Subscription) End() {
	if s == nil {
		return
	}
	s.active.Dec()
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
