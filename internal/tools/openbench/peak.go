package main

import (
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// peakClasses are the runtime's memory classes read at the RSS peak, in
// MB, and what the rest of the RSS is: they say whether a peak is live
// heap, heap the collector has not reached yet, stacks or memory outside
// the Go runtime (pebble's memtables and cache, C allocations).
var peakClasses = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/os-stacks:bytes",
	"/memory/classes/metadata/other:bytes",
	"/memory/classes/metadata/mspan/inuse:bytes",
	"/memory/classes/other:bytes",
	"/gc/heap/live:bytes",
	"/gc/heap/goal:bytes",
	"/gc/stack/starting-size:bytes",
	"/gc/scan/stack:bytes",
	"/sched/goroutines:goroutines",
	"/gc/cycles/total:gc-cycles",
}

// peakWatch records the process's peak RSS every 20 ms, the Go runtime's
// memory at that peak, its memory classes then, and, if profile is set, a
// heap profile each time the peak has grown by 8 MB since the last one
// (so the file left is one taken within 8 MB of the peak).
type peakWatch struct {
	peak, goAtPeak atomic.Uint64
	mu             sync.Mutex
	classes        map[string]float64
	profiled       uint64
}

func (w *peakWatch) start(profile string) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if r := rss(); r > w.peak.Load() {
				w.peak.Store(r)
				g := goMemory()
				w.goAtPeak.Store(g)
				w.record(r, g)
				if profile != "" && r >= w.profiled+8<<20 {
					w.profiled = r
					_ = writeHeapProfile(profile)
				}
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// record notes the memory classes at a new peak of rssBytes, when the Go
// runtime held goBytes.
func (w *peakWatch) record(rssBytes, goBytes uint64) {
	s := make([]metrics.Sample, len(peakClasses))
	for i, n := range peakClasses {
		s[i].Name = n
	}
	metrics.Read(s)
	m := map[string]float64{"rss": mb(rssBytes), "outside_go": mb(rssBytes) - mb(goBytes)}
	// Anonymous memory (heaps, Go's and C's) and file pages (the binary).
	for k, v := range procStatus("RssAnon", "RssFile") {
		m[strings.ToLower(k)] = mb(v)
	}
	for _, x := range s {
		name := strings.TrimPrefix(strings.TrimPrefix(x.Name, "/memory/classes/"), "/")
		name = name[:strings.IndexByte(name, ':')]
		switch x.Value.Kind() {
		case metrics.KindUint64:
			if strings.HasSuffix(x.Name, ":bytes") {
				m[name] = mb(x.Value.Uint64())
			} else {
				m[name] = float64(x.Value.Uint64())
			}
		}
	}
	w.mu.Lock()
	w.classes = m
	w.mu.Unlock()
}

func (w *peakWatch) atPeak() map[string]float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.classes
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }
