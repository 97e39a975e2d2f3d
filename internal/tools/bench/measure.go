package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rewindhq/rewind/internal/benchstat"
)

// appendRate runs writers goroutines for dur, each appending one event at
// a time at the expected version to its own 64 streams in turn; every
// stream gets one append first (not timed), so the figure is steady state.
func appendRate(ctx context.Context, st eventStore, prefix string, writers int, dur time.Duration) (float64, error) {
	const perWriter = 64
	payload := payload200()
	var count atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	var ready sync.WaitGroup
	ready.Add(writers)
	startc := make(chan struct{})
	var stop atomic.Bool
	for w := range writers {
		wg.Go(func() {
			names := make([]string, perWriter)
			ver := make([]uint64, perWriter)
			var err error
			for k := range names {
				names[k] = fmt.Sprintf("%s/w%02d/s%02d", prefix, w, k)
				if err == nil {
					err = st.Append(ctx, names[k], 0, payload)
					ver[k] = 1
				}
			}
			ready.Done()
			<-startc
			if err != nil {
				errs <- err
				return
			}
			for i := 0; !stop.Load(); i++ {
				k := i % perWriter
				if err := st.Append(ctx, names[k], ver[k], payload); err != nil {
					errs <- err
					return
				}
				ver[k]++
				count.Add(1)
			}
		})
	}
	ready.Wait()
	start := time.Now()
	close(startc)
	time.Sleep(dur)
	stop.Store(true)
	n := count.Load()
	elapsed := time.Since(start)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(n) / elapsed.Seconds(), nil
}

// readLatency reads stream whole n times (after one read not counted) and
// returns the p50 and p99 of the reads.
func readLatency(ctx context.Context, st eventStore, stream string, want, n int) (p50, p99 time.Duration, err error) {
	if got, err := st.Read(ctx, stream); err != nil || got != want {
		return 0, 0, readErr(stream, got, want, err)
	}
	samples := make([]time.Duration, n)
	for i := range samples {
		t := time.Now()
		got, err := st.Read(ctx, stream)
		samples[i] = time.Since(t)
		if err != nil || got != want {
			return 0, 0, readErr(stream, got, want, err)
		}
	}
	return benchstat.Quantile(samples, 0.5), benchstat.Quantile(samples, 0.99), nil
}

func readErr(stream string, got, want int, err error) error {
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	return fmt.Errorf("read %s: %d events, want %d", stream, got, want)
}

// replayRate replays the whole log and returns events per second.
func replayRate(ctx context.Context, st eventStore, want int) (float64, error) {
	t := time.Now()
	n, err := st.Replay(ctx)
	elapsed := time.Since(t)
	if err != nil {
		return 0, fmt.Errorf("replay: %w", err)
	}
	if n != want {
		return 0, fmt.Errorf("replay: %d events, want %d", n, want)
	}
	return float64(n) / elapsed.Seconds(), nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
