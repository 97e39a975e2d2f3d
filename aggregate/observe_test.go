package aggregate_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/scrape"
	"github.com/rewindhq/rewind/observe"
)

// A Handle that loses a race once: its span has two Decides, two Appends
// (the first a conflict), one Retry between them; the metrics count one
// retry, one command ok and a cache miss.
func TestHandleSpansAndMetricsWithARetry(t *testing.T) {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(ctx)
	reg := prometheus.NewRegistry()
	o, err := observe.New(observe.WithRegisterer(reg), observe.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	s, err := eventstore.Open(ctx, t.TempDir(), eventstore.WithObserver(o))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	def := defineAccounts()
	repo, err := aggregate.NewRepository(s, def, aggregate.WithCache(0))
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	if _, err := repo.Handle(ctx, "r", open("x")); err != nil {
		t.Fatal(err)
	}
	raced := false
	_, err = repo.Handle(ctx, "r", func(a Account) ([]AccountEvent, error) {
		if !raced { // another writer gets in between the load and the append
			raced = true
			evs, err := def.Encode([]AccountEvent{Deposited{Amount: 5}})
			if err != nil {
				return nil, err
			}
			if _, err := s.Append(context.Background(), "accounts/r/events", evs); err != nil {
				return nil, err
			}
		}
		return deposit(1)(a)
	})
	if err != nil {
		t.Fatal(err)
	}
	var handle sdktrace.ReadOnlySpan
	for _, sp := range rec.Ended() {
		if sp.Name() == "aggregate.Handle" {
			handle = sp // the last one: the raced Handle
		}
	}
	children := map[string]int{}
	for _, sp := range rec.Ended() {
		if handle != nil && sp.Parent().SpanID() == handle.SpanContext().SpanID() {
			children[sp.Name()]++
		}
	}
	if children["aggregate.Decide"] != 2 || children["eventstore.Append"] != 2 || children["aggregate.Retry"] != 1 {
		t.Errorf("children of the raced Handle: %v; want 2 Decide, 2 Append, 1 Retry", children)
	}
	ss, err := scrape.Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"rewind_command_retries_total", []string{"aggregate", "accounts"}, 1},
		{"rewind_commands_total", []string{"aggregate", "accounts", "outcome", "ok"}, 2},
		{"rewind_appends_total", []string{"outcome", "conflict"}, 1},
		{"rewind_loads_total", []string{"aggregate", "accounts", "snapshot", "false"}, 3},
	} {
		if got, _ := ss.Sum(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}
