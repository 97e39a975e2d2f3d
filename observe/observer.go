package observe

import (
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ErrInvalidOption is returned by New for an option it cannot use.
var ErrInvalidOption = errors.New("observe: invalid option")

// Observer holds the metrics and the tracer that Rewind's packages report
// to. Make one with New, give it to the store (eventstore.WithObserver);
// the aggregate repositories and the projection runner on that store
// report to it too, and Handler wraps HTTP handlers. A nil *Observer is
// valid and observes nothing; every method is then a no-op.
//
// It is safe for concurrent use. Two stores may share one Observer: their
// counts add up, and each store's index gauges carry its log's name in the
// label "store" (two stores of one log share the series; two logs of one
// name, in two directories say, are told apart by the log's id:
// "rewind@1a2b3c4d").
type Observer struct {
	m      *metrics // nil without WithRegisterer
	tracer trace.Tracer
	prop   propagation.TextMapPropagator

	mu      sync.Mutex
	indexes map[*IndexSource]struct{}
	runners map[*ProjectionSource]struct{}
	parked  map[*parkedSource]struct{}
}

// Option configures New. A nil Option is ignored.
type Option func(*Observer) error

// WithRegisterer registers Rewind's metrics (see the package
// documentation for the list) on reg; without it nothing is counted.
// Serve them with promhttp.HandlerFor on the matching Gatherer, or with
// MetricsHandler.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(o *Observer) error {
		if reg == nil {
			return fmt.Errorf("%w: nil registerer", ErrInvalidOption)
		}
		m, err := newMetrics(reg, o)
		if err != nil {
			return fmt.Errorf("observe: register the metrics: %w", err)
		}
		o.m = m
		return nil
	}
}

// WithTracerProvider records spans with tp's tracer (named
// "github.com/rewindhq/rewind"); without it no span is made, and tracing
// costs nothing.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *Observer) error {
		if tp == nil {
			return fmt.Errorf("%w: nil tracer provider", ErrInvalidOption)
		}
		o.tracer = tp.Tracer(instrumentation)
		return nil
	}
}

// WithPropagator sets how trace context crosses HTTP (Handler reads it
// from requests). The default is W3C Trace Context (the traceparent and
// tracestate headers).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(o *Observer) error {
		if p == nil {
			return fmt.Errorf("%w: nil propagator", ErrInvalidOption)
		}
		o.prop = p
		return nil
	}
}

// instrumentation names Rewind's tracer.
const instrumentation = "github.com/rewindhq/rewind"

// New returns an Observer. Without options it observes nothing: give
// WithRegisterer for metrics, WithTracerProvider for traces.
func New(opts ...Option) (*Observer, error) {
	o := &Observer{prop: propagation.TraceContext{}, indexes: map[*IndexSource]struct{}{},
		runners: map[*ProjectionSource]struct{}{}, parked: map[*parkedSource]struct{}{}}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// Metrics reports whether o counts metrics.
func (o *Observer) Metrics() bool { return o != nil && o.m != nil }

// Tracing reports whether o records spans.
func (o *Observer) Tracing() bool { return o != nil && o.tracer != nil }

// Propagator returns how o's trace context crosses process boundaries.
func (o *Observer) Propagator() propagation.TextMapPropagator {
	if o == nil {
		return propagation.TraceContext{}
	}
	return o.prop
}

// traced returns o's tracer, nil when o records no spans.
func (o *Observer) traced() trace.Tracer {
	if o == nil {
		return nil
	}
	return o.tracer
}
