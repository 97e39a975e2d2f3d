package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// The data set of issue 24: n events of about 200 B of JSON in n/100
// streams picked at random with a fixed seed, plus streams of known sizes:
// bench/target (1,000 events spread through the whole log), bench/mid (100,
// spread), bench/small (10, spread) and bench/early (100, all in the first
// stage: a stream of fixed size, read as the log grows behind it).
const (
	targetStream = "bench/target"
	midStream    = "bench/mid"
	smallStream  = "bench/small"
	earlyStream  = "bench/early"
	buildWriters = 16
)

type plan struct {
	names []string
	pos   []int32 // log position -> index in names
	sizes map[string]int
}

func newPlan(n, stages int) *plan {
	streams := max(10, n/100)
	p := &plan{pos: make([]int32, n), sizes: map[string]int{}}
	for i := range streams {
		p.names = append(p.names, fmt.Sprintf("bench/s%06d", i))
	}
	for i := range p.pos {
		p.pos[i] = -1
	}
	place := func(name string, count, span int) {
		idx := int32(len(p.names))
		p.names = append(p.names, name)
		p.sizes[name] = count
		step := span / count
		for k := range count {
			at := k*step + step/2
			for p.pos[at] != -1 { // taken by another known stream: the next free one
				at = (at + 1) % n
			}
			p.pos[at] = idx
		}
	}
	place(targetStream, 1000, n)
	place(midStream, 100, n)
	place(smallStream, 10, n)
	place(earlyStream, 100, n/stages)
	rng := rand.New(rand.NewPCG(24, 7))
	for i := range p.pos {
		if p.pos[i] == -1 {
			p.pos[i] = int32(rng.IntN(streams))
		}
	}
	return p
}

// builder appends a plan's positions to one store from 16 goroutines, each
// taking the next position and appending its event at the stream's
// version (a stream's appends are serialized by its own lock, as an
// aggregate's are in a real process), so the log follows the plan up to
// the order in which concurrent appends land.
type builder struct {
	p   *plan
	mu  []sync.Mutex
	ver []uint64
	// retries counts appends that timed out inside the store (its own
	// deadline, not the bench's) and were tried again, as a user would.
	retries atomic.Int64
}

// retryable is an append that ran out of the store's own time (on a loaded
// machine Rewind's append can time out waiting for its read index) while
// the bench's context is still live. Tried again at the same expected
// version, a retry cannot store the event twice: if the first try was
// stored after all, the version check refuses the second, and
// storedAfterAll counts it.
func retryable(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded)
}

func newBuilder(p *plan) *builder {
	return &builder{p: p, mu: make([]sync.Mutex, len(p.names)), ver: make([]uint64, len(p.names))}
}

func (b *builder) build(ctx context.Context, st eventStore, from, to int) (time.Duration, error) {
	payload := payload200()
	var next atomic.Int64
	next.Store(int64(from))
	errs := make(chan error, buildWriters)
	var wg sync.WaitGroup
	start := time.Now()
	for range buildWriters {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= to || ctx.Err() != nil {
					return
				}
				s := b.p.pos[i]
				b.mu[s].Lock()
				err := st.Append(ctx, b.p.names[s], b.ver[s], payload)
				retried := false
				for try := 0; try < 5 && retryable(ctx, err); try++ {
					b.retries.Add(1)
					retried = true
					err = st.Append(ctx, b.p.names[s], b.ver[s], payload)
				}
				if err != nil && retried && ctx.Err() == nil && b.storedAfterAll(ctx, st, s) {
					err = nil
				}
				if err == nil {
					b.ver[s]++
				}
				b.mu[s].Unlock()
				if err != nil {
					errs <- fmt.Errorf("append position %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return time.Since(start), <-errs
}

// storedAfterAll says whether stream s holds one event more than the
// builder counted: a try that timed out was stored after all, and the
// retry at the same expected version was refused for it. The builder is
// the stream's only writer and holds its lock, so that event can only be
// the one it tried to append.
func (b *builder) storedAfterAll(ctx context.Context, st eventStore, s int32) bool {
	n, err := st.Read(ctx, b.p.names[s])
	return err == nil && uint64(n) == b.ver[s]+1
}

// payload200 is about 200 B of JSON.
func payload200() []byte {
	b := []byte(`{"account":"acc-000123","amount":1250,"currency":"EUR","reference":"invoice 2026-000123","note":"`)
	for len(b) < 198 {
		b = append(b, 'x')
	}
	return append(b, '"', '}')
}
