// Package natsretry runs requests to a NATS cluster across JetStream's
// elections, for the event store and the packages beside it (checkpoint)
// alike.
//
// When a node of a cluster dies, the streams it led (the log, a bucket)
// and possibly the cluster's meta layer elect new leaders, which takes a
// few seconds; meanwhile requests that only a leader answers go
// unanswered, are refused with "no responders", or are answered "cluster
// not available". Waiting out one long timeout per request costs the
// whole timeout even when the leader is back after a second, and failing
// at the first refusal turns every election into errors. So every request
// has a short deadline of its own (TryTimeout) and is sent again after a
// short pause while the answer is one of those (Transient), until the
// caller's ctx ends, or, for a ctx without a deadline, until
// UnavailableWait has passed: then the call fails with an error wrapping
// ErrUnavailable (and the ctx's error, if it ended).
package natsretry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rewindhq/rewind/internal/ctxsleep"
)

// ErrUnavailable is what a call whose tries all failed with a transient
// error wraps. The eventstore package exports it as its ErrUnavailable.
var ErrUnavailable = errors.New("eventstore: cluster unavailable")

// ErrStorageFull is what a call that a server refused for want of storage
// (StorageFull) wraps. The eventstore package exports it as its
// ErrStorageFull.
var ErrStorageFull = errors.New("eventstore: storage full")

// ErrNoResponders is a reply, read by hand, that no JetStream server took
// a message (a status 503); transient.
var ErrNoResponders = errors.New("no responders")

// ErrReplicaLags is a read answered by a replica that does not hold yet
// what the stream's leader said it holds (a direct get, which any replica
// answers, after an election or a restart); transient.
var ErrReplicaLags = errors.New("a replica of the stream lags its leader")

// ErrNoQuorum is an answer about a replicated stream's state from a
// server that cannot know it is current: a replica with no leader, or a
// leader that has not heard from a majority of the replicas lately (it
// may have been replaced by now). Transient: a majority back, or a new
// leader elected, answers again.
var ErrNoQuorum = errors.New("no quorum")

const (
	// TryTimeout bounds one try of a request or a publish's wait for its
	// acknowledgement: far above what a healthy server takes, far below an
	// election.
	TryTimeout = 500 * time.Millisecond
	// PauseMax is the longest pause between two tries (they start at a
	// tenth of it, doubling, with jitter).
	PauseMax = 250 * time.Millisecond
	// UnavailableWait bounds the tries of a call whose ctx has no
	// deadline: longer than an election takes.
	UnavailableWait = 10 * time.Second
)

// Transient reports whether err is what a cluster answers while it has
// no leader for the request, or a try that timed out: worth trying again.
// A server out of storage (StorageFull) answers with a 503 too, but asking
// again changes nothing until an operator acts: not transient.
func Transient(err error) bool {
	if err == nil || StorageFull(err) {
		return false
	}
	if errors.Is(err, ErrNoQuorum) {
		return true
	}
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, ErrNoResponders) || errors.Is(err, ErrReplicaLags) || errors.Is(err, nats.ErrTimeout) ||
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
	// The same answers in the types of nats.go's older JetStream API,
	// which its jetstream package still uses for a key-value bucket's
	// watch (an ordered push consumer): "nats: JetStream system
	// temporarily unavailable" while the meta layer has no leader.
	var legacy *nats.APIError
	if errors.As(err, &legacy) {
		switch legacy.ErrorCode {
		case 10005, 10008, 10009, 10118, 10119:
			return true
		}
		return legacy.Code == 503
	}
	return false
}

// The JetStream error codes of a server out of storage.
const (
	codeInsufficientResources = 10023 // the server's JetStream storage limit is reached
	codeAccountResources      = 10002 // the account's limit is reached
	codeMemoryResources       = 10028 // the server's memory limit is reached
	codeStorageResources      = 10047 // the server's storage limit is reached
)

// StorageFull reports whether err is a JetStream server's answer that it
// has no storage left to take the request: its storage limit (by default
// three quarters of the disk space free when it started) or its account's
// limit is reached.
func StorageFull(err error) bool {
	code := 0
	var apiErr *jetstream.APIError
	var legacy *nats.APIError
	switch {
	case errors.As(err, &apiErr):
		code = int(apiErr.ErrorCode)
	case errors.As(err, &legacy):
		code = int(legacy.ErrorCode)
	default:
		return false
	}
	switch code {
	case codeInsufficientResources, codeAccountResources, codeMemoryResources, codeStorageResources:
		return true
	}
	return false
}

// Retrier runs the tries of one call.
type Retrier struct {
	ctx     context.Context
	base    context.Context // what tries derive from
	start   time.Time
	end     time.Time // ctx's deadline or UnavailableWait from the start
	attempt int       // pauses begun
	tries   int
	last    error
	atEnd   bool // the tries stopped because the end was too close for another
}

// New returns the Retrier of a call bounded by ctx; its tries derive from
// base, which is ctx or a parent of it whose deadline is ctx's (so that a
// ctx that makes its timer only when waited on never makes it).
func New(ctx, base context.Context) *Retrier {
	end, ok := ctx.Deadline()
	if !ok {
		end = time.Now().Add(UnavailableWait)
	}
	return &Retrier{ctx: ctx, base: base, start: time.Now(), end: end}
}

// Try returns the ctx for one try: ending TryTimeout from now, or at the
// call's end, whichever comes first.
func (r *Retrier) Try() (context.Context, context.CancelFunc) {
	end := time.Now().Add(TryTimeout)
	if r.end.Before(end) {
		end = r.end
	}
	return context.WithDeadline(r.base, end)
}

// Again reports whether err, the outcome of a try, is to be tried again,
// after pausing; when it is not, Err returns what the call returns.
func (r *Retrier) Again(err error) bool {
	r.last = err
	r.tries++
	if err == nil || !Transient(err) || r.ctx.Err() != nil {
		return false
	}
	pause := min(PauseMax/10<<min(r.attempt, 4), PauseMax)
	pause = pause/2 + rand.N(pause/2+1)
	r.attempt++
	if time.Now().Add(pause).After(r.end) {
		r.atEnd = true
		return false
	}
	return ctxsleep.Sleep(r.base, pause) == nil
}

// Err returns the call's outcome: the last try's error, wrapped in
// ErrStorageFull when a server refused it for want of storage, or in
// ErrUnavailable when it was transient (with the ctx's error too, when the
// ctx ended, or its deadline was too near for another try). The text says
// how long the tries went on: the last try's own error is often its short
// deadline's, which alone would read as if the caller's ctx had run out.
func (r *Retrier) Err() error {
	err := r.last
	if StorageFull(err) {
		return fmt.Errorf("%w: %w", ErrStorageFull, err)
	}
	if err == nil || !Transient(err) {
		return err
	}
	took := time.Since(r.start).Round(100 * time.Millisecond)
	tries := fmt.Sprintf("%d tries in %s", r.tries, took)
	if r.tries == 1 {
		tries = fmt.Sprintf("1 try in %s", took)
	}
	cerr := r.ctx.Err()
	if _, ok := r.ctx.Deadline(); ok && cerr == nil && r.atEnd {
		// Stopped a moment before ctx's deadline, too close for another
		// try: as far as the caller can tell, its deadline has passed.
		cerr = context.DeadlineExceeded
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%s, the last: %w) (%w)", ErrUnavailable, tries, err, cerr)
	}
	return fmt.Errorf("%w (%s, the last: %w)", ErrUnavailable, tries, err)
}

// Do runs op with a short deadline per try, again while it fails with a
// transient error, bounded by ctx (by UnavailableWait when ctx has no
// deadline). A transient error that outlasts the bound comes back
// wrapping ErrUnavailable; any other error comes back as op returned it.
// A ctx done before the first try is its error alone, and op is not run.
func Do(ctx context.Context, op func(ctx context.Context) error) error {
	return DoFrom(New(ctx, ctx), op)
}

// DoFrom is Do with the Retrier r.
func DoFrom(r *Retrier, op func(ctx context.Context) error) error {
	if err := r.ctx.Err(); err != nil {
		// Done before the call asked anything: the caller's own end, not
		// a cluster that did not answer (its one try would time out at
		// once, which reads as one).
		return err
	}
	for {
		tctx, cancel := r.Try()
		err := op(tctx)
		cancel()
		if !r.Again(err) {
			return r.Err()
		}
	}
}
