package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rewindhq/rewind/internal/natsretry"
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
// error wrapping ErrUnavailable (and the ctx's error, if it ended). The
// tries are internal/natsretry's, which the checkpoint package's bucket
// uses too.

const (
	tryTimeout      = natsretry.TryTimeout
	retryPauseMax   = natsretry.PauseMax
	unavailableWait = natsretry.UnavailableWait
)

// transient reports whether err is what a cluster answers while it has
// no leader for the request, or a try that timed out: worth trying again.
func transient(err error) bool { return natsretry.Transient(err) }

// retry runs op with a short deadline per try, again while it fails with a
// transient error, bounded by ctx (by unavailableWait when ctx has no
// deadline). A transient error that outlasts the bound comes back wrapping
// ErrUnavailable.
func retry(ctx context.Context, op func(ctx context.Context) error) error {
	base := ctx
	if l, ok := ctx.(*lazyDeadline); ok {
		// Its deadline is the call's end: deriving the tries from its
		// parent makes no timer and no goroutine watching it.
		base = l.Context
	}
	return natsretry.DoFrom(natsretry.New(ctx, base), op)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// outlasted is err, the failure of a call whose ctx ended while it waited
// for the cluster (or behind another call that did: an append for its
// stream's lock, a read for the index to catch up), wrapping
// ErrUnavailable as well as ctx's error: the call outlasted its context,
// which the package documents as ErrUnavailable whichever wait it was in,
// as publishFailed does for a publish's tries. A ctx that was done before
// the call asked anything is the caller's own end: such a call returns
// ctx's error alone, and so does publish (nothing sent). Other errors,
// and those that say ErrUnavailable already, are returned as they are.
func outlasted(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if cerr == nil || !errors.Is(err, cerr) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrClosed) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
