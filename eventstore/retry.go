package eventstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Requests to a NATS cluster and JetStream's elections.
//
// When a node of a cluster dies, the streams it led (the log, a bucket)
// and possibly the cluster's meta layer elect new leaders, which takes a
// few seconds; meanwhile requests that only a leader answers go
// unanswered, are refused with "no responders", or are answered "cluster
// not available". Waiting out one long timeout per request costs the
// whole timeout even when the leader is back after a second, and failing
// at the first refusal turns every election into errors. So every request
// the store makes of the server has a short deadline of its own (tryTimeout)
// and is sent again after a short pause while the answer is one of those
// (transient), until the caller's ctx ends, or, for a ctx without a
// deadline, until unavailableWait has passed: then the call fails with an
// error wrapping ErrUnavailable (and the ctx's error, if it ended).

const (
	// tryTimeout bounds one try of a request or a publish's wait for its
	// acknowledgement: far above what a healthy server takes, far below an
	// election.
	tryTimeout = 500 * time.Millisecond
	// retryPauseMax is the longest pause between two tries (they start at
	// a tenth of it, doubling, with jitter).
	retryPauseMax = 250 * time.Millisecond
	// unavailableWait bounds the tries of a call whose ctx has no
	// deadline: longer than an election takes.
	unavailableWait = 10 * time.Second
)

// transient reports whether err is what a cluster answers while it has
// no leader for the request, or a try that timed out: worth trying again.
func transient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, errNoResponders) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrNoHeartbeat) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case 10005, // no peers available (a replica's node is down)
			10008, // JetStream system temporarily unavailable
			10009, // cluster cannot handle the request (not the leader)
			10118, // stream offline
			10119: // consumer offline
			return true
		}
		return apiErr.Code == 503
	}
	return false
}

// retrier runs the tries of one call.
type retrier struct {
	ctx     context.Context
	base    context.Context // what tries derive from: ctx, or under a lazyDeadline its parent
	end     time.Time       // ctx's deadline or unavailableWait from the start
	attempt int
	last    error
}

func newRetrier(ctx context.Context) *retrier {
	end, ok := ctx.Deadline()
	if !ok {
		end = time.Now().Add(unavailableWait)
	}
	base := ctx
	if l, ok := ctx.(*lazyDeadline); ok {
		// Its deadline is r.end: deriving from its parent makes no timer
		// and no goroutine watching it.
		base = l.Context
	}
	return &retrier{ctx: ctx, base: base, end: end}
}

// try returns the ctx for one try: ending tryTimeout from now, or at the
// call's end, whichever comes first.
func (r *retrier) try() (context.Context, context.CancelFunc) {
	return context.WithDeadline(r.base, minTime(time.Now().Add(tryTimeout), r.end))
}

// again reports whether err, the outcome of a try, is to be tried again,
// after pausing; when it is not, done returns what the call returns.
func (r *retrier) again(err error) bool {
	r.last = err
	if err == nil || !transient(err) || r.ctx.Err() != nil {
		return false
	}
	pause := min(retryPauseMax/10<<min(r.attempt, 4), retryPauseMax)
	pause = pause/2 + rand.N(pause/2+1)
	r.attempt++
	if time.Now().Add(pause).After(r.end) {
		return false
	}
	t := time.NewTimer(pause)
	defer t.Stop()
	select {
	case <-r.base.Done():
		return false
	case <-t.C:
		return true
	}
}

// err returns the call's outcome: the last try's error, wrapped in
// ErrUnavailable when it was transient (with the ctx's error too, when the
// ctx ended).
func (r *retrier) err() error {
	err := r.last
	if err == nil || !transient(err) {
		return err
	}
	if cerr := r.ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: %w (%w)", ErrUnavailable, err, cerr)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// retry runs op with a short deadline per try, again while it fails with a
// transient error, bounded by ctx (by unavailableWait when ctx has no
// deadline). A transient error that outlasts the bound comes back wrapping
// ErrUnavailable.
func retry(ctx context.Context, op func(ctx context.Context) error) error {
	r := newRetrier(ctx)
	for {
		tctx, cancel := r.try()
		err := op(tctx)
		cancel()
		if !r.again(err) {
			return r.err()
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
