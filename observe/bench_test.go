package observe_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/rewindhq/rewind/observe"
)

// BenchmarkRecordAppend: what recording one append's metrics costs, apart
// from the append (whose time on a shared machine varies by more than
// these costs: see BenchmarkObserve in eventstore): prometheus is
// observe's own hooks (StartAppend, EndAppend: the outcome counter, events,
// bytes, the latency histogram, two clock reads), otel the same
// instruments with OpenTelemetry's metrics SDK and its Prometheus
// exporter, off a nil Observer's hooks.
func BenchmarkRecordAppend(b *testing.B) {
	ctx := context.Background()
	b.Run("off", func(b *testing.B) {
		var o *observe.Observer
		for range b.N {
			_, s := o.StartAppend(ctx, "orders/1", 1)
			o.EndAppend(s, observe.AppendReport{Outcome: observe.AppendOK, Events: 1, Bytes: 64})
		}
	})
	b.Run("prometheus", func(b *testing.B) {
		o, err := observe.New(observe.WithRegisterer(prometheus.NewRegistry()))
		if err != nil {
			b.Fatal(err)
		}
		for range b.N {
			_, s := o.StartAppend(ctx, "orders/1", 1)
			o.EndAppend(s, observe.AppendReport{Outcome: observe.AppendOK, Events: 1, Bytes: 64})
		}
	})
	b.Run("otel", func(b *testing.B) {
		exp, err := otelprom.New(otelprom.WithRegisterer(prometheus.NewRegistry()))
		if err != nil {
			b.Fatal(err)
		}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
		defer mp.Shutdown(ctx)
		m := mp.Meter("bench")
		appends, _ := m.Int64Counter("rewind_appends")
		events, _ := m.Int64Counter("rewind_append_events")
		bytes, _ := m.Int64Counter("rewind_append_bytes")
		seconds, _ := m.Float64Histogram("rewind_append_duration", metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(prometheus.ExponentialBuckets(0.0001, 4, 9)...))
		outcome := func(oc string) metric.MeasurementOption {
			return metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", oc)))
		}
		for range b.N {
			start := time.Now()
			seconds.Record(ctx, time.Since(start).Seconds())
			appends.Add(ctx, 1, outcome(observe.AppendOK))
			events.Add(ctx, 1)
			bytes.Add(ctx, 64)
		}
	})
}
