package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/scrape"
	"github.com/rewindhq/rewind/observe"
)

// observed opens a store that reports to a fresh registry and, with
// traces, to an in-memory span recorder.
func observed(t *testing.T, traces bool) (*eventstore.Store, *prometheus.Registry, *tracetest.SpanRecorder) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts := []observe.Option{observe.WithRegisterer(reg)}
	var rec *tracetest.SpanRecorder
	if traces {
		rec = tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		t.Cleanup(func() { tp.Shutdown(context.Background()) })
		opts = append(opts, observe.WithTracerProvider(tp))
	}
	o, err := observe.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := openStore(t, eventstore.WithObserver(o))
	return s, reg, rec
}

// want checks one series (or the sum of those matching the labels).
func want(t *testing.T, ss scrape.Samples, v float64, name string, labels ...string) {
	t.Helper()
	got, ok := ss.Sum(name, labels...)
	if !ok || got != v {
		t.Errorf("%s%v = %v (found: %v), want %v", name, labels, got, ok, v)
	}
}

func TestMetricsCountKnownWork(t *testing.T) {
	ctx := context.Background()
	s, reg, _ := observed(t, false)
	for i := range 3 {
		if _, err := s.Append(ctx, "obs/a", evs(2, 2*i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(ctx, "obs/a", evs(1, 0), eventstore.ExpectVersion(1)); !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("conflict: %v", err)
	}
	for range 2 { // stored, then a duplicate by command id
		if _, err := s.Append(ctx, "obs/b", evs(1, 0), eventstore.WithCommandID("c1")); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // stored, then a producer's duplicate
		if _, err := s.Append(ctx, "obs/c", evs(1, 0), eventstore.WithProducer("p", 2, 0)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(ctx, "obs/c", evs(1, 0), eventstore.WithProducer("p", 1, 1)); !errors.Is(err, eventstore.ErrStaleEpoch) {
		t.Fatalf("stale epoch: %v", err)
	}
	if _, err := s.Append(ctx, "obs/c", evs(1, 0), eventstore.WithProducer("p", 2, 5)); !errors.Is(err, eventstore.ErrSequenceGap) {
		t.Fatalf("gap: %v", err)
	}
	if got := collect(t, s.Read(ctx, "obs/a")); len(got) != 6 {
		t.Fatalf("read %d events", len(got))
	}
	ss, err := scrape.Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	want(t, ss, 5, "rewind_appends_total", "outcome", "ok")
	want(t, ss, 1, "rewind_appends_total", "outcome", "conflict")
	want(t, ss, 2, "rewind_appends_total", "outcome", "duplicate")
	want(t, ss, 1, "rewind_appends_total", "outcome", "fenced")
	want(t, ss, 1, "rewind_appends_total", "outcome", "gap")
	want(t, ss, 10, "rewind_append_duration_seconds_count")
	want(t, ss, 8, "rewind_append_events_total")
	want(t, ss, 1, "rewind_append_duplicates_total", "reason", "command")
	want(t, ss, 1, "rewind_append_duplicates_total", "reason", "producer")
	want(t, ss, 1, "rewind_producer_refusals_total", "reason", "fenced")
	want(t, ss, 1, "rewind_producer_refusals_total", "reason", "gap")
	want(t, ss, 1, "rewind_reads_total")
	want(t, ss, 6, "rewind_read_events_total")
	if b, _ := ss.Sum("rewind_append_bytes_total"); b < float64(8*len(`{"n":0}`)) {
		t.Errorf("rewind_append_bytes_total = %v, want at least the events' data", b)
	}
	applied, _ := ss.Sum("rewind_index_applied_position", "store", "rewind")
	last, _ := ss.Sum("rewind_log_position", "store", "rewind")
	if last != 5 || applied != last { // five commits; a read waits for the index: it is complete
		t.Errorf("index at %v, log at %v", applied, last)
	}
	want(t, ss, 0, "rewind_index_lag_commits", "store", "rewind")
}

func TestAppendRecordsTraceParent(t *testing.T) {
	ctx := context.Background()
	s, _, rec := observed(t, true)
	tracer := sdktrace.NewTracerProvider().Tracer("test") // a caller's own span, from another provider
	ctx, parent := tracer.Start(ctx, "caller")
	own := eventstore.Event{Type: "Kept", Metadata: map[string]string{eventstore.MetaTraceParent: "00-kept"}}
	plain := eventstore.Event{Type: "Plain", Metadata: map[string]string{"k": "v"}}
	if _, err := s.Append(ctx, "obs/t", []eventstore.Event{plain, own}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	if len(plain.Metadata) != 1 {
		t.Errorf("the caller's metadata was changed: %v", plain.Metadata)
	}
	got := collect(t, s.Read(context.Background(), "obs/t"))
	traceID := parent.SpanContext().TraceID().String()
	if tp := got[0].TraceParent(); !strings.HasPrefix(tp, "00-"+traceID+"-") || got[0].Metadata["k"] != "v" {
		t.Errorf("metadata %v: want the traceparent of trace %s and k=v", got[0].Metadata, traceID)
	}
	if tp := got[1].TraceParent(); tp != "00-kept" {
		t.Errorf("an event's own traceparent was replaced by %q", tp)
	}
	var names []string
	for _, sp := range rec.Ended() {
		names = append(names, sp.Name())
		if sp.Name() == "eventstore.Append" {
			if sp.Parent().SpanID() != parent.SpanContext().SpanID() || sp.SpanContext().TraceID().String() != traceID {
				t.Errorf("the append's span is not the caller's child")
			}
			if !strings.Contains(got[0].TraceParent(), sp.SpanContext().SpanID().String()) {
				t.Errorf("the event names span %s, not the append's %s", got[0].TraceParent(), sp.SpanContext().SpanID())
			}
		}
	}
	if strings.Join(names, ",") != "eventstore.Append,eventstore.Read" {
		t.Errorf("spans %v, want the append's and the read's", names)
	}
}

func TestNoObserverNoTraceParent(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	ctx, span := sdktrace.NewTracerProvider().Tracer("test").Start(ctx, "caller")
	defer span.End()
	if _, err := s.Append(ctx, "obs/n", evs(1, 0)); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, s.Read(ctx, "obs/n")); got[0].TraceParent() != "" {
		t.Errorf("tracing is off, yet the event carries %q", got[0].TraceParent())
	}
	if _, err := eventstore.Open(ctx, t.TempDir(), eventstore.WithObserver(nil)); !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Errorf("WithObserver(nil): %v", err)
	}
}

func TestReady(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	if _, err := s.Append(ctx, "obs/r", evs(3, 0)); err != nil {
		t.Fatal(err)
	}
	collect(t, s.Read(ctx, "obs/r"))
	if err := s.Ready(ctx, 0); err != nil {
		t.Errorf("an open store, its index caught up: %v", err)
	}
	s.Close()
	if err := s.Ready(ctx, 0); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("a closed store: %v", err)
	}
}

// TestMetricsCountGroupCommit: with SyncAlways, every acknowledged append
// is counted in exactly one fsync round, and each round is timed once.
func TestMetricsCountGroupCommit(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	o, err := observe.New(observe.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := openStore(t, eventstore.WithObserver(o), eventstore.SyncAlways())
	const writers, each = 8, 20
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			var err error
			for i := range each {
				if _, err = s.Append(ctx, fmt.Sprintf("sync/%d", w), evs(1, i)); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ss, err := scrape.Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	rounds, ok := ss.Sum("rewind_group_commit_rounds_total")
	if !ok || rounds < 1 || rounds > writers*each {
		t.Fatalf("rewind_group_commit_rounds_total = %v (found: %v), want 1 to %d", rounds, ok, writers*each)
	}
	want(t, ss, rounds, "rewind_group_commit_appenders_count")
	want(t, ss, writers*each, "rewind_group_commit_appenders_sum")
	want(t, ss, rounds, "rewind_fsync_duration_seconds_count")
	t.Logf("%d appends in %v fsync rounds", writers*each, rounds)
}

// TestMetricsCountProducerAppends: the batches a Producer commits are
// counted like Store.Append's appends: their events, and a refusal of a
// fenced producer.
func TestMetricsCountProducerAppends(t *testing.T) {
	ctx := context.Background()
	s, reg, _ := observed(t, false)
	p, err := s.Producer(ctx, "prod/a", "p1", eventstore.WithEpoch(2))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := p.Append(ctx, evs(1, i)...); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	stale, err := s.Producer(ctx, "prod/a", "p1", eventstore.WithEpoch(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stale.Append(ctx, evs(1, 0)...); err != nil && !errors.Is(err, eventstore.ErrStaleEpoch) {
		t.Fatal(err)
	}
	if err := stale.Close(ctx); !errors.Is(err, eventstore.ErrStaleEpoch) {
		t.Fatalf("the fenced producer closed with %v, want ErrStaleEpoch", err)
	}
	ss, err := scrape.Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	want(t, ss, 5, "rewind_append_events_total")
	want(t, ss, 1, "rewind_producer_refusals_total", "reason", "fenced")
	if ok, _ := ss.Sum("rewind_appends_total", "outcome", "ok"); ok < 1 || ok > 5 {
		t.Errorf("rewind_appends_total{outcome=ok} = %v, want 1 to 5 batches", ok)
	}
}

// TestTwoLogsOfOneNameOneObserver: two stores of two logs that share a
// name and an Observer each have their index gauges, told apart by the
// log's id, and each series holds its own store's positions at every
// scrape; two stores of one log share one series.
func TestTwoLogsOfOneNameOneObserver(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	o, err := observe.New(observe.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := openStore(t, eventstore.WithObserver(o), eventstore.WithListen("127.0.0.1", 0))
	b, _ := openStore(t, eventstore.WithObserver(o))
	ready := func(s *eventstore.Store) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for err := s.Ready(ctx, 0); err != nil; err = s.Ready(ctx, 0) {
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for s, n := range map[*eventstore.Store]int{a: 3, b: 1} {
		for i := range n {
			if _, err := s.Append(ctx, "two/1", evs(1, i)); err != nil {
				t.Fatal(err)
			}
		}
		ready(s)
	}
	// A third store on a's log: no series of its own.
	c, err := eventstore.Connect(ctx, a.ClientURL(), eventstore.WithIndexDir(t.TempDir()), eventstore.WithObserver(o))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ready(c)
	for range 10 {
		ss, err := scrape.Gather(reg)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, sm := range ss {
			if sm.Name == "rewind_log_position" {
				got[sm.Labels["store"]] = sm.Value
			}
		}
		var three, one int
		for label, v := range got {
			if !strings.HasPrefix(label, "rewind@") {
				t.Fatalf("label %q of two logs named rewind: want rewind@<log id>", label)
			}
			switch v {
			case 3:
				three++
			case 1:
				one++
			}
		}
		if len(got) != 2 || three != 1 || one != 1 {
			t.Fatalf("rewind_log_position by store: %v; want one series at 3 and one at 1", got)
		}
	}
}

// TestRebuildAtOpenCounted: an index the store cannot use at open (here
// another log's) is rebuilt from the log, and rewind_index_rebuilds_total
// counts it, as it counts a Reindex.
func TestRebuildAtOpenCounted(t *testing.T) {
	ctx := context.Background()
	dirs := []string{t.TempDir(), t.TempDir()}
	for _, dir := range dirs {
		s, err := eventstore.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, "rb/1", evs(2, 0)); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// The first store gets the second's index.
	if err := os.RemoveAll(filepath.Join(dirs[0], "index")); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dirs[0], "index"), os.DirFS(filepath.Join(dirs[1], "index"))); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	o, err := observe.New(observe.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	s, err := eventstore.Open(ctx, dirs[0], eventstore.WithObserver(o))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Started(ctx); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, s.Read(ctx, "rb/1")); len(got) != 2 {
		t.Fatalf("read %d events after the rebuild", len(got))
	}
	ss, err := scrape.Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	want(t, ss, 1, "rewind_index_rebuilds_total")
}

// TestAppendOutcomesAtZero: every append outcome the metric's help names
// has its series at zero before the first append, as the observe package
// doc says of known label values.
func TestAppendOutcomesAtZero(t *testing.T) {
	_, reg, _ := observed(t, false)
	ss, err := scrape.Gather(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, oc := range []string{"ok", "duplicate", "conflict", "fenced", "gap", "closed", "invalid", "error"} {
		want(t, ss, 0, "rewind_appends_total", "outcome", oc)
	}
}
