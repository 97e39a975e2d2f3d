package projection_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/projection"
)

// batchSeen is one batch as a benchmark handler saw it.
type batchSeen struct {
	last       eventstore.Offset
	replay     bool
	start, end time.Time
}

// BenchmarkGoLive measures how soon a projection goes live after it has
// applied what was stored before it started (Status.LiveFrom): started
// behind 2,000 events, with a handler of 20 ms a batch, while two writers
// append about every millisecond each ("steady"), or while nothing is
// appended ("quiet", the baseline). It reports the batches handled after
// the one that reached LiveFrom before the first live one
// (batches-late/op: 0 when the batch after reaching it is live, or the
// live part of the batch that crossed it), the time from the end of the
// batch that reached LiveFrom to the start of the first live batch
// (ms-to-live/op), and the catch-up's length (ms-catch-up/op).
func BenchmarkGoLive(b *testing.B) {
	for _, mode := range []string{"quiet", "steady"} {
		b.Run(mode, func(b *testing.B) {
			var late, toLive, catchUp float64
			for range b.N {
				l, t, c := goLiveOnce(b, mode == "steady")
				late, toLive, catchUp = late+l, toLive+t, catchUp+c
			}
			n := float64(b.N)
			b.ReportMetric(late/n, "batches-late/op")
			b.ReportMetric(toLive/n, "ms-to-live/op")
			b.ReportMetric(catchUp/n, "ms-catch-up/op")
		})
	}
}

func goLiveOnce(b *testing.B, steady bool) (late, toLive, catchUp float64) {
	ctx := context.Background()
	s := openStore(b)
	appendN(b, s, "go/old", 2000)
	stop := func() {}
	if steady {
		stop = steadyWriters(b, s, "go/new", 2)
		time.Sleep(100 * time.Millisecond)
	}
	defer stop()
	var mu sync.Mutex
	var seen []batchSeen
	live := make(chan struct{})
	h := projection.HandlerFunc(func(ctx context.Context, bt projection.Batch) error {
		start := time.Now()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, batchSeen{bt.Offset(), bt.Replay, start, time.Now()})
		if !bt.Replay && len(seen) > 0 && (len(seen) == 1 || seen[len(seen)-2].replay) {
			close(live)
		}
		return nil
	})
	r := projection.NewRunner(s, nil)
	defer r.Close()
	began := time.Now()
	if err := r.Start(ctx, projection.Projection{Name: "go", Source: projection.Category("go"), BatchSize: 64,
		Sink: projection.AtLeastOnce("go", h, &checkpoint.Memory{})}); err != nil {
		b.Fatal(err)
	}
	if !steady {
		// Quiet: the first live batch is the first event appended after
		// the catch-up.
		if err := r.WaitCaughtUp(ctx, "go"); err != nil {
			b.Fatal(err)
		}
		appendN(b, s, "go/new", 1)
	}
	select {
	case <-live:
	case <-time.After(60 * time.Second):
		b.Fatal("never live")
	}
	st, _ := r.Status("go")
	r.Stop("go")
	mu.Lock()
	defer mu.Unlock()
	reached := -1
	for i, bs := range seen {
		if bs.last <= st.LiveFrom {
			reached = i
		}
	}
	first := slices.IndexFunc(seen, func(bs batchSeen) bool { return !bs.replay })
	if reached < 0 || first < 0 {
		b.Fatalf("no batch reached LiveFrom %s, or none was live: %+v", st.LiveFrom, seen)
	}
	late = float64(first - reached - 1)
	if steady {
		toLive = float64(seen[first].start.Sub(seen[reached].end)) / 1e6
	}
	return late, toLive, float64(seen[reached].end.Sub(began)) / 1e6
}
