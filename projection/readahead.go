package projection

import (
	"context"
	"sync"

	"github.com/rewindhq/rewind/eventstore"
)

// readAhead hands what a feed's reader goroutine reads to the feed: at most
// one batch of events waits to be taken (the reader stops reading until
// the feed takes them, so a slow sink slows the subscription and nothing
// piles up). The waiting events are kept in a slice that grows with what
// is read, not in a buffer sized by BatchSize up front: a projection with
// a large BatchSize and little to read holds little.
type readAhead struct {
	limit int
	ready chan struct{} // holds a signal when events, or the end, arrived
	room  chan struct{} // holds a signal when the feed took events

	mu  sync.Mutex
	evs []eventstore.Event
	end bool  // the reader ended
	err error // why, if it failed
}

func newReadAhead(limit int) *readAhead {
	return &readAhead{limit: limit, ready: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// put adds e, waiting while limit events wait to be taken; false if ctx
// ended first.
func (a *readAhead) put(ctx context.Context, e eventstore.Event) bool {
	for {
		a.mu.Lock()
		if len(a.evs) < a.limit {
			a.evs = append(a.evs, e)
			a.mu.Unlock()
			signal(a.ready)
			return true
		}
		a.mu.Unlock()
		select {
		case <-a.room:
		case <-ctx.Done():
			return false
		}
	}
}

// close notes that the reader ended, failing with err (nil: its context
// ended).
func (a *readAhead) close(err error) {
	a.mu.Lock()
	a.end, a.err = true, err
	a.mu.Unlock()
	signal(a.ready)
}

// take returns the events waiting (none, after a signal whose events an
// earlier take returned). ended is true once the reader has ended and
// every event it read was taken; err is then why it ended.
func (a *readAhead) take() (evs []eventstore.Event, ended bool, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.evs) == 0 {
		return nil, a.end, a.err
	}
	evs, a.evs = a.evs, nil
	signal(a.room)
	if a.end {
		signal(a.ready) // the end's signal may have merged with the events': the next take reports it
	}
	return evs, false, nil
}

// waiting is how many events wait to be taken.
func (a *readAhead) waiting() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.evs)
}
