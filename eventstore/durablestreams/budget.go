package durablestreams

import (
	"context"
	"sync"
	"time"
)

// budget bounds the bytes that requests hold at once: bodies being read
// and stored, or answers being made and written. Without it, a hundred
// clients that send large bodies, or that open long answers and stop
// reading them, make the server hold a hundred bodies.
type budget struct {
	mu    sync.Mutex
	used  int64
	max   int64
	freed chan struct{} // closed (and replaced) when bytes are given back
}

func newBudget(max int64) *budget {
	return &budget{max: max, freed: make(chan struct{})}
}

// acquire takes n bytes (at most the whole budget: a request larger than
// it still runs, alone), waiting up to wait for others to give theirs
// back; it returns the bytes taken, 0 when it gave up.
func (b *budget) acquire(ctx context.Context, n int64, wait time.Duration) int64 {
	if n <= 0 {
		return 0
	}
	n = min(n, b.max)
	var timeout <-chan time.Time
	for {
		b.mu.Lock()
		if b.used+n <= b.max {
			b.used += n
			b.mu.Unlock()
			return n
		}
		freed := b.freed
		b.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-freed:
		case <-timeout:
			return 0
		case <-ctx.Done():
			return 0
		}
	}
}

// release gives back n bytes taken with acquire.
func (b *budget) release(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

// inUse is the bytes taken now.
func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
