package aggregate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/observe"
)

// BenchmarkObservedHandle: one goroutine depositing into 100 cached
// accounts, three variants interleaved op by op (in a new order each round), each on its own store:
// off (no Observer, the default), metrics (an Observer counting metrics),
// traced (metrics and spans: Handle, Decide and Append, each a sampled
// root trace, no exporter).
func BenchmarkObservedHandle(b *testing.B) {
	ctx := context.Background()
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(ctx)
	metrics, err := observe.New(observe.WithRegisterer(prometheus.NewRegistry()))
	if err != nil {
		b.Fatal(err)
	}
	both, err := observe.New(observe.WithRegisterer(prometheus.NewRegistry()), observe.WithTracerProvider(tp))
	if err != nil {
		b.Fatal(err)
	}
	names := []string{"off", "metrics", "traced"}
	var repos []*aggregate.Repository[Account, AccountEvent]
	for _, opts := range [][]eventstore.Option{nil, {eventstore.WithObserver(metrics)}, {eventstore.WithObserver(both)}} {
		s, err := eventstore.Open(ctx, b.TempDir(), opts...)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		repo, err := aggregate.NewRepository(s, defineAccounts(), aggregate.WithClone(func(a Account) Account { return a }))
		if err != nil {
			b.Fatal(err)
		}
		defer repo.Close()
		for i := range 100 {
			if _, err := repo.Handle(ctx, fmt.Sprint(i), open("x")); err != nil {
				b.Fatal(err)
			}
		}
		repos = append(repos, repo)
	}
	rates := make([]float64, len(repos))
	b.Run("interleaved", func(b *testing.B) {
		spent := make([]time.Duration, len(repos))
		done := make([]int, len(repos))
		var order []int
		for i := range b.N {
			if i%len(repos) == 0 {
				order = rand.Perm(len(repos)) // each round in a new order: no variant always follows another
			}
			v := order[i%len(repos)]
			start := time.Now()
			if _, err := repos[v].Handle(ctx, fmt.Sprint((i/len(repos))%100), deposit(1)); err != nil {
				b.Fatal(err)
			}
			spent[v] += time.Since(start)
			done[v]++
		}
		for v := range repos {
			if spent[v] > 0 {
				rates[v] = float64(done[v]) / spent[v].Seconds()
				b.ReportMetric(rates[v], names[v]+"/s")
			}
		}
	})
	for v := 1; v < len(repos); v++ {
		fmt.Printf("--- RATIO BenchmarkObservedHandle: %s / off = %.3f\n", names[v], rates[v]/rates[0])
	}
}
