package eventstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/observe"
)

// otelAppendMetrics are the append metrics of package observe made with
// OpenTelemetry's metrics SDK and its Prometheus exporter instead of the
// Prometheus client: the alternative BenchmarkObserve weighs.
type otelAppendMetrics struct {
	appends        metric.Int64Counter
	events, bytes  metric.Int64Counter
	seconds        metric.Float64Histogram
	ok, failed     metric.MeasurementOption
	shutdownReader func(context.Context) error
}

func newOTelAppendMetrics(b *testing.B) *otelAppendMetrics {
	exp, err := otelprom.New(otelprom.WithRegisterer(prometheus.NewRegistry()))
	if err != nil {
		b.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	m := mp.Meter("bench")
	o := &otelAppendMetrics{shutdownReader: mp.Shutdown,
		ok:     metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "ok"))),
		failed: metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "error")))}
	if o.appends, err = m.Int64Counter("rewind_appends"); err == nil {
		if o.events, err = m.Int64Counter("rewind_append_events"); err == nil {
			if o.bytes, err = m.Int64Counter("rewind_append_bytes"); err == nil {
				o.seconds, err = m.Float64Histogram("rewind_append_duration", metric.WithUnit("s"),
					metric.WithExplicitBucketBoundaries(prometheus.ExponentialBuckets(0.0001, 4, 9)...))
			}
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	return o
}

// append is an Append recorded as observe records it.
func (o *otelAppendMetrics) append(ctx context.Context, s *eventstore.Store, stream string, events []eventstore.Event) error {
	start := time.Now()
	_, err := s.Append(ctx, stream, events)
	o.seconds.Record(ctx, time.Since(start).Seconds())
	if err != nil {
		o.appends.Add(ctx, 1, o.failed)
		return err
	}
	o.appends.Add(ctx, 1, o.ok)
	o.events.Add(ctx, int64(len(events)))
	n := 0
	for _, e := range events {
		n += len(e.Data)
	}
	o.bytes.Add(ctx, int64(n))
	return nil
}

// BenchmarkObserve: one goroutine appending one event to 100 streams,
// six variants interleaved op by op, in a new order each round, so that a loaded machine weighs on
// each alike: today (eventstore.AppendBeforeObserver: Append's body as it
// was before the Observer, without its nil check), off (Append without an Observer: the default), prometheus
// (an Observer counting metrics with the Prometheus client, tracing off),
// otel-metrics (the same metrics with OpenTelemetry's SDK and Prometheus
// exporter, recorded around an Append without Observer), traced
// (metrics and spans, every append a sampled root span, no exporter), and
// traced-child (the same under a caller's sampled span, so the traceparent
// goes into the event's metadata). The target off ≥ 0.98× today is
// decided by BenchmarkObserveOff (ratios of short blocks, not whole runs).
func BenchmarkObserve(b *testing.B) {
	checkBaseline(b)
	ctx := context.Background()
	plain, _ := openStore(b)
	metrics, err := observe.New(observe.WithRegisterer(prometheus.NewRegistry()))
	if err != nil {
		b.Fatal(err)
	}
	counted, _ := openStore(b, eventstore.WithObserver(metrics))
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(ctx)
	both, err := observe.New(observe.WithRegisterer(prometheus.NewRegistry()), observe.WithTracerProvider(tp))
	if err != nil {
		b.Fatal(err)
	}
	traced, _ := openStore(b, eventstore.WithObserver(both))
	om := newOTelAppendMetrics(b)
	defer om.shutdownReader(ctx)
	parent, span := tp.Tracer("caller").Start(ctx, "caller")
	defer span.End()
	data := []byte(`{"n":1}`)
	one := func() []eventstore.Event { return []eventstore.Event{{Type: "Bench", Data: data}} }
	names := []string{"today", "off", "prometheus", "otel-metrics", "traced", "traced-child"}
	variants := []func(i int) error{
		func(i int) error {
			_, err := eventstore.AppendBeforeObserver(ctx, plain, fmt.Sprintf("today/%d", i%100), one())
			return err
		},
		func(i int) error { _, err := plain.Append(ctx, fmt.Sprintf("off/%d", i%100), one()); return err },
		func(i int) error { _, err := counted.Append(ctx, fmt.Sprintf("prom/%d", i%100), one()); return err },
		func(i int) error { return om.append(ctx, plain, fmt.Sprintf("otel/%d", i%100), one()) },
		func(i int) error { _, err := traced.Append(ctx, fmt.Sprintf("traced/%d", i%100), one()); return err },
		func(i int) error { _, err := traced.Append(parent, fmt.Sprintf("child/%d", i%100), one()); return err },
	}
	rates := make([]float64, len(variants))
	b.Run("interleaved", func(b *testing.B) {
		spent := make([]time.Duration, len(variants))
		done := make([]int, len(variants))
		var order []int
		for i := range b.N {
			if i%len(variants) == 0 {
				order = rand.Perm(len(variants)) // each round in a new order: no variant always follows another
			}
			v := order[i%len(variants)]
			start := time.Now()
			if err := variants[v](i / len(variants)); err != nil {
				b.Fatal(err)
			}
			spent[v] += time.Since(start)
			done[v]++
		}
		for v := range variants {
			if spent[v] > 0 {
				rates[v] = float64(done[v]) / spent[v].Seconds()
				b.ReportMetric(rates[v], names[v]+"/s")
			}
		}
	})
	for v := 1; v < len(variants); v++ {
		fmt.Printf("--- RATIO BenchmarkObserve: %s / today = %.3f\n", names[v], rates[v]/rates[0])
	}
}
