package diskbench

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Latency is a set of timed reads.
type Latency struct {
	Reads  int     `json:"reads"`
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	Events int     `json:"events_per_read"`
}

// LatencyOf summarises timed reads of events each.
func LatencyOf(samples []time.Duration, events int) Latency {
	slices.Sort(samples)
	at := func(p float64) float64 {
		if len(samples) == 0 {
			return 0
		}
		i := int(p*float64(len(samples))+0.5) - 1
		return float64(samples[min(max(i, 0), len(samples)-1)]) / 1e6
	}
	return Latency{Reads: len(samples), P50Ms: at(0.50), P99Ms: at(0.99), MaxMs: at(1), Events: events}
}

// DirSize sums the sizes of the regular files under dir.
func DirSize(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while walking (a compaction)
		}
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	return total, err
}

// runPlan calls add for every position of plan from s.Writers goroutines,
// each taking the next position, with the version the stream is at
// before it: appends to one stream are serialised by a lock per stream,
// so each knows the version to expect, as a store user's command handler
// does. It returns the events appended per second.
func runPlan(s Spec, plan []int32, add func(pos int, stream int32, version uint64) error) (float64, error) {
	s = s.withDefaults()
	locks := make([]sync.Mutex, s.Streams+1)
	versions := make([]uint64, s.Streams+1)
	var next atomic.Int64
	var wg sync.WaitGroup
	var errOnce sync.Once
	var first error
	start := time.Now()
	for range s.Writers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(plan) {
					return
				}
				st := plan[i]
				locks[st].Lock()
				err := add(i, st, versions[st])
				if err == nil {
					versions[st]++
				}
				locks[st].Unlock()
				if err != nil {
					errOnce.Do(func() { first = err })
					next.Store(int64(len(plan)))
					return
				}
			}
		})
	}
	wg.Wait()
	return float64(len(plan)) / time.Since(start).Seconds(), first
}
