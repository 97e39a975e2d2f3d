package main

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rewindhq/rewind/internal/benchstat"
)

// catchupResult is what the catch-up test measured.
type catchupResult struct {
	Messages       int       `json:"messages"`
	Bytes          int64     `json:"bytes_read"`
	FillMsgsPerSec float64   `json:"fill_messages_per_sec"`
	GETsPerRead    int       `json:"gets_per_read"`
	Rounds         []float64 `json:"rounds_messages_per_sec"`
	MsgsPerSec     float64   `json:"messages_per_sec"`
	MBPerSec       float64   `json:"mb_per_sec"`
}

// fillWriters is how many concurrent POSTs fill the catch-up stream; their
// order in the stream does not matter.
const fillWriters = 8

// catchupTest fills one stream with msgs messages through batched POSTs, then
// reads it from -1 following Stream-Next-Offset until Stream-Up-To-Date,
// rounds times, and reports the median round.
func catchupTest(ctx context.Context, c *client, msgs, perPOST, rounds int, progress func(string, ...any)) (*catchupResult, error) {
	url := c.streamURL("catchup")
	if err := c.create(ctx, url); err != nil {
		return nil, err
	}
	fillStart := time.Now()
	if err := fill(ctx, c, url, msgs, perPOST); err != nil {
		return nil, err
	}
	r := &catchupResult{Messages: msgs, FillMsgsPerSec: float64(msgs) / time.Since(fillStart).Seconds()}
	var mbs []float64
	for round := range rounds {
		n, bytesRead, gets, elapsed, err := readToTail(ctx, c, url)
		if err != nil {
			return nil, err
		}
		if n != msgs {
			return nil, fmt.Errorf("catch-up read %d: %d messages, want %d", round+1, n, msgs)
		}
		r.Bytes, r.GETsPerRead = bytesRead, gets
		r.Rounds = append(r.Rounds, float64(n)/elapsed.Seconds())
		mbs = append(mbs, float64(bytesRead)/elapsed.Seconds()/1e6)
		progress("catch-up read %d: %d messages in %d GETs, %s", round+1, n, gets, elapsed.Round(time.Millisecond))
	}
	r.MsgsPerSec = benchstat.Median(r.Rounds)
	r.MBPerSec = benchstat.Median(mbs)
	return r, nil
}

func fill(ctx context.Context, c *client, url string, msgs, perPOST int) error {
	next := make(chan int)
	errs := make(chan error, fillWriters)
	var wg sync.WaitGroup
	for w := range fillWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for first := range next {
				body := batchBody(w, first, min(perPOST, msgs-first))
				if _, err := c.appendJSON(ctx, url, body); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
	for first := 0; first < msgs && err == nil; first += perPOST {
		select {
		case next <- first:
		case err = <-errs:
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err != nil {
		return fmt.Errorf("filling the catch-up stream: %w", err)
	}
	return nil
}

// readToTail reads url from the start to the tail and counts its messages.
func readToTail(ctx context.Context, c *client, url string) (n int, bytesRead int64, gets int, elapsed time.Duration, err error) {
	var buf bytes.Buffer
	offset := "-1"
	start := time.Now()
	for {
		r, err := c.read(ctx, url, offset, "", &buf)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		gets++
		k, err := countItems(r.body)
		if err != nil {
			return 0, 0, 0, 0, fmt.Errorf("GET %s?offset=%s: %w", url, offset, err)
		}
		n += k
		bytesRead += int64(len(r.body))
		if r.upToDate {
			return n, bytesRead, gets, time.Since(start), nil
		}
		if r.next == "" || r.next == offset {
			return 0, 0, 0, 0, fmt.Errorf("GET %s?offset=%s: no progress (Stream-Next-Offset %q) and not up to date", url, offset, r.next)
		}
		offset = r.next
	}
}
