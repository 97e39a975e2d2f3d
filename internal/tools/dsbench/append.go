package main

import (
	"context"
	"sync"
	"time"
)

// appendResult is what an append test measured.
type appendResult struct {
	Writers     int           `json:"writers"`
	PerPOST     int           `json:"messages_per_post"`
	Streams     int           `json:"streams"`
	Duration    time.Duration `json:"duration_ns"`
	POSTs       int           `json:"posts"`
	Messages    int           `json:"messages"`
	POSTsPerSec float64       `json:"posts_per_sec"`
	MsgsPerSec  float64       `json:"messages_per_sec"`
	MBPerSec    float64       `json:"mb_per_sec"`
	Latency     latencies     `json:"post_latency"`
	Errors      int           `json:"errors"`
	FirstError  string        `json:"first_error,omitempty"`
}

// appendWarmup runs before every append test's measured window and counts
// for nothing: connections open, the server's code paths get warm.
const appendWarmup = time.Second

// appendTest runs writers that POST perPOST messages each time (a JSON array
// when perPOST > 1, a bare object otherwise), as fast as their answers come,
// for d after a warm-up.
func appendTest(ctx context.Context, c *client, name string, writers, perPOST int, d time.Duration, shared bool) (*appendResult, error) {
	urls := make([]string, writers)
	for w := range urls {
		if w == 0 || !shared {
			urls[w] = c.streamURL(name)
			if err := c.create(ctx, urls[w]); err != nil {
				return nil, err
			}
		} else {
			urls[w] = urls[0]
		}
	}
	start := time.Now().Add(appendWarmup)
	end := start.Add(d)
	type tally struct {
		posts int
		lat   []time.Duration
		errs  int
		first error
	}
	tallies := make([]tally, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One body per writer, sent again and again: building bodies
			// would take CPU from the server on a small machine.
			body := message(w, 0)
			if perPOST > 1 {
				body = batchBody(w, 0, perPOST)
			}
			t := &tallies[w]
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(end) {
					return
				}
				_, err := c.appendJSON(ctx, urls[w], body)
				if t0.Before(start) {
					continue
				}
				if err != nil {
					t.errs++
					if t.first == nil {
						t.first = err
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				t.posts++
				t.lat = append(t.lat, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	r := &appendResult{Writers: writers, PerPOST: perPOST, Streams: writers, Duration: elapsed}
	if shared {
		r.Streams = 1
	}
	var all []time.Duration
	for _, t := range tallies {
		r.POSTs += t.posts
		r.Errors += t.errs
		if t.first != nil && r.FirstError == "" {
			r.FirstError = t.first.Error()
		}
		all = append(all, t.lat...)
	}
	r.Messages = r.POSTs * perPOST
	secs := elapsed.Seconds()
	r.POSTsPerSec = float64(r.POSTs) / secs
	r.MsgsPerSec = float64(r.Messages) / secs
	r.MBPerSec = float64(r.Messages*msgSize) / secs / 1e6
	r.Latency = summarize(all)
	return r, nil
}
