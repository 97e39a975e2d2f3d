package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// longPollResult is what the long-poll wake-up test measured: for every
// parked reader, the time from just before the append was sent to the
// reader's whole response.
type longPollResult struct {
	Readers    int         `json:"readers"`
	Rounds     []wakeRound `json:"rounds"`
	Wake       latencies   `json:"wake"`
	AppendAck  latencies   `json:"append_ack"`
	Errors     int         `json:"errors"`
	FirstError string      `json:"first_error,omitempty"`
}

type wakeRound struct {
	Wake      latencies     `json:"wake"`
	AppendAck time.Duration `json:"append_ack_ns"`
	Errors    int           `json:"errors"`
	// NewConns counts the readers that had to dial: after the warm-up round
	// every reader should reuse a kept-alive connection, so that a reader's
	// request is not still in the server's accept queue when the append comes.
	NewConns int `json:"new_conns"`
}

// parkTimeout bounds the wait for every reader's request to be on the wire.
const parkTimeout = 60 * time.Second

func longPollTest(ctx context.Context, c *client, readers, rounds int, parkWait time.Duration, progress func(string, ...any)) (*longPollResult, error) {
	url := c.streamURL("longpoll")
	if err := c.create(ctx, url); err != nil {
		return nil, err
	}
	tail, err := c.appendJSON(ctx, url, message(0, 0))
	if err != nil {
		return nil, err
	}
	res := &longPollResult{Readers: readers}
	// A warm-up round, not counted, opens every reader's connection.
	_, _, tail, err = wakeOnce(ctx, c, url, tail, readers, parkWait, 0)
	if err != nil {
		return nil, err
	}
	var allWake, allAck []time.Duration
	for round := range rounds {
		wr, wakes, next, err := wakeOnce(ctx, c, url, tail, readers, parkWait, round+1)
		if err != nil {
			return nil, err
		}
		tail = next
		res.Rounds = append(res.Rounds, wr.round)
		res.Errors += wr.round.Errors
		if res.FirstError == "" {
			res.FirstError = wr.firstError
		}
		allWake = append(allWake, wakes...)
		allAck = append(allAck, wr.round.AppendAck)
		progress("long-poll round %d: p50 %s p99 %s max %s, append ack %s, errors %d, new connections %d", round+1,
			ms(wr.round.Wake.P50), ms(wr.round.Wake.P99), ms(wr.round.Wake.Max), ms(wr.round.AppendAck), wr.round.Errors, wr.round.NewConns)
	}
	res.Wake = summarize(allWake)
	res.AppendAck = summarize(allAck)
	return res, nil
}

type wakeOutcome struct {
	round      wakeRound
	firstError string
}

// wakeOnce parks readers in long-poll GETs at tail, appends one message and
// times each reader's wake-up. It returns the new tail.
func wakeOnce(ctx context.Context, c *client, url, tail string, readers int, parkWait time.Duration, round int) (wakeOutcome, []time.Duration, string, error) {
	arrived := make([]time.Time, readers)
	errs := make([]error, readers)
	var wrote, dialed atomic.Int64
	var wg sync.WaitGroup
	rctx, cancel := context.WithTimeout(ctx, parkTimeout+time.Minute)
	defer cancel()
	for i := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			trace := &httptrace.ClientTrace{
				GotConn: func(info httptrace.GotConnInfo) {
					if !info.Reused {
						dialed.Add(1)
					}
				},
				WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Add(1) },
			}
			var buf bytes.Buffer
			r, err := c.read(httptrace.WithClientTrace(rctx, trace), url, tail, "long-poll", &buf)
			arrived[i] = time.Now()
			switch {
			case err != nil:
				errs[i] = err
			case r.status != 200:
				errs[i] = fmt.Errorf("long-poll answered %d (a timeout?) instead of the appended message", r.status)
			default:
				if n, err := countItems(r.body); err != nil || n != 1 {
					errs[i] = fmt.Errorf("long-poll answered %d messages (%v), want 1", n, err)
				}
			}
		}()
	}
	deadline := time.Now().Add(parkTimeout)
	for wrote.Load() < int64(readers) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			cancel()
			wg.Wait()
			return wakeOutcome{}, nil, "", fmt.Errorf("round %d: only %d of %d long-poll requests sent within %s", round, wrote.Load(), readers, parkTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Every request is on the wire; give the server a moment to take them in.
	time.Sleep(parkWait)

	t0 := time.Now()
	next, err := c.appendJSON(ctx, url, message(0, round))
	ack := time.Since(t0)
	if err != nil {
		cancel()
		wg.Wait()
		return wakeOutcome{}, nil, "", fmt.Errorf("round %d: the waking append: %w", round, err)
	}
	wg.Wait()

	out := wakeOutcome{round: wakeRound{AppendAck: ack, NewConns: int(dialed.Load())}}
	var wakes []time.Duration
	for i := range readers {
		if errs[i] == nil && arrived[i].Before(t0) {
			errs[i] = fmt.Errorf("a reader was answered before the append")
		}
		if errs[i] != nil {
			out.round.Errors++
			if out.firstError == "" {
				out.firstError = errs[i].Error()
			}
			continue
		}
		wakes = append(wakes, arrived[i].Sub(t0))
	}
	out.round.Wake = summarize(wakes)
	return out, wakes, next, nil
}
