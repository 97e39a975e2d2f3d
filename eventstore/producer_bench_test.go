package eventstore

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkProducer measures an idempotent producer appending one 200-byte
// event per Append, every append durable and deduplicated when Flush
// returns ("rewind"), beside its baseline: asynchronous JetStream publishes
// of 200-byte messages to the same stream on the same embedded server and
// connection, outside Rewind's stream subjects, all acknowledged ("raw").
// Both report appends/s; b.N is the number of appends (or publishes).
//
//	go test ./eventstore -run XXX -bench BenchmarkProducer -benchtime=100000x -count=3
func BenchmarkProducer(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	data := bytes.Repeat([]byte("x"), 200)
	runs := 0

	b.Run("rewind", func(b *testing.B) {
		runs++ // the testing package may call this more than once
		stream := fmt.Sprintf("bench/producer-%d", runs)
		p, err := s.Producer(context.Background(), stream, "bench")
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close(ctx)
		b.SetBytes(int64(len(data)))
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			if _, err := p.Append(ctx, Event{Type: "Bench", Data: data}); err != nil {
				b.Fatal(err)
			}
		}
		if err := p.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if _, next := p.Acked(); next != uint64(b.N) {
			b.Fatalf("%d appends acknowledged, want %d", next, b.N)
		}
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	})

	b.Run("raw", func(b *testing.B) {
		var failed atomic.Int64
		mustStart(b, s)
		js, err := jetstream.New(s.nc, jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) {
			failed.Add(1)
		}))
		if err != nil {
			b.Fatal(err)
		}
		subj := s.jsName + ".raw.bench" // in the log, outside Rewind's streams
		b.SetBytes(int64(len(data)))
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			if _, err := js.PublishAsync(subj, data, jetstream.WithStallWait(time.Minute)); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(time.Minute):
			b.Fatal("publishes not acknowledged after a minute")
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if n := failed.Load(); n > 0 {
			b.Fatalf("%d publishes failed", n)
		}
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	})
}
