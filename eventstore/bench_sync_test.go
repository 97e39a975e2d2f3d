package eventstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkAppendSyncAlways: durable appends (SyncAlways: each append
// returns after an fsync that began after it was stored), one 200 B event
// per op with an optimistic concurrency check, from 1 and from 16
// goroutines (each on its own 64 streams), on one store.
// Target: 16 goroutines ≥ 3× one goroutine's throughput (PostgreSQL's group
// commit scales 2.8× on this machine). The server-* siblings are the
// baseline the group commit replaces: raw publishes to an embedded server
// with JetStream's own SyncAlways, which fsyncs each message in turn.
func BenchmarkAppendSyncAlways(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir(), SyncAlways(), WithLogger(benchLogger()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	serverJS := syncAlwaysServer(b)
	const workers, perWorker = 16, 64
	targets := make([][]appendTarget, workers)
	for w := range targets {
		targets[w] = appendTargets(fmt.Sprintf("sync%02d", w), perWorker)
		for i := range targets[w] {
			if err := appendOurs(ctx, s, &targets[w][i], benchEventsToAppend()); err != nil {
				b.Fatal(err)
			}
		}
	}
	rawTargets := make([][]appendTarget, workers)
	for w := range rawTargets {
		rawTargets[w] = appendTargets(fmt.Sprintf("sync%02d", w), perWorker)
	}
	run := func(b *testing.B, n int, r *benchRun, appendOne func(w int) error) {
		runWorkers(b, n, func(w, k int) error {
			for range k {
				if err := appendOne(w); err != nil {
					return err
				}
			}
			return nil
		})
		r.record(b, float64(b.N)/b.Elapsed().Seconds())
		b.ReportMetric(r.metric, "events/s")
	}
	next := make([]int, workers)
	ours := func(w int) error {
		t := &targets[w][next[w]%perWorker]
		next[w]++
		return appendOurs(ctx, s, t, benchEventsToAppend())
	}
	rawNext := make([]int, workers)
	data := benchPayload()
	raw := func(w int) error {
		t := &rawTargets[w][rawNext[w]%perWorker]
		rawNext[w]++
		return appendRaw(ctx, serverJS, t, data)
	}
	var one, sixteen, sOne, sSixteen benchRun
	b.Run("server-1", func(b *testing.B) { run(b, 1, &sOne, raw) })
	b.Run("server-16", func(b *testing.B) { run(b, workers, &sSixteen, raw) })
	b.Run("rewind-1", func(b *testing.B) { run(b, 1, &one, ours) })
	b.Run("rewind-16", func(b *testing.B) {
		run(b, workers, &sixteen, ours)
		reportVsBaseline(b, sixteen, one, "x-one")
	})
	if r, ok := ratio(sixteen, one); ok {
		printTarget(b, "throughput 16 goroutines / 1 goroutine", r, ">=", 3, "")
	}
	if r, ok := ratio(sixteen, sSixteen); ok {
		printNote(b, "throughput rewind-16 / server SyncAlways 16", r, "")
	}
	if r, ok := ratio(sSixteen, sOne); ok {
		printNote(b, "throughput server SyncAlways 16 / 1", r, "")
	}
}

// syncAlwaysServer starts an embedded server with JetStream's own
// SyncAlways and a stream like the raw benchmarks' one, and returns a
// client on it.
func syncAlwaysServer(b *testing.B) jetstream.JetStream {
	b.Helper()
	srv, err := server.NewServer(&server.Options{JetStream: true, StoreDir: filepath.Join(b.TempDir(), "raw"),
		DontListen: true, NoSigs: true, NoLog: true, SyncAlways: true})
	if err != nil {
		b.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		b.Fatal("server did not start")
	}
	b.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	createRawStream(b, js)
	return js
}
