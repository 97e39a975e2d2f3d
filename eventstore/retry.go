package eventstore

import (
	"context"
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
