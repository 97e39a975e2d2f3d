package aggregatehttp

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/clientshare"
)

// Bounds of the waits of GET /v1/events?wait=.
const (
	// maxEventWaiters bounds the requests that wait at once.
	maxEventWaiters = 10000
	// maxWatchedCategories bounds the categories watched at once: each
	// is one subscription, a consumer on the store's server. A wait on
	// another category past it polls (categoryPoll) rather than being
	// refused, so that waits on a few hundred made-up categories do not
	// keep a real one's waits out (maxEventWaiters, shared by all, still
	// bounds how many wait, and a poll's read takes a read slot as any).
	maxWatchedCategories = 256
	// categoryPoll is how often a wait on a category past
	// maxWatchedCategories looks for its event.
	categoryPoll = time.Second
)

// maxEventReads bounds the reads of GET /v1/events that run at once: an
// append wakes every request parked on its category, and a thousand reads
// at once would make each of them wait on the store's server for long.
const maxEventReads = 8

// errWaitersFull refuses a wait past the bounds: 503 with Retry-After.
var errWaitersFull = &httpError{code: http.StatusServiceUnavailable,
	reason: "too many requests are waiting for events; retry in a moment"}

// errClientWaitersFull refuses a wait past its client's part of the
// bound: 503 with Retry-After.
var errClientWaitersFull = &httpError{code: http.StatusServiceUnavailable,
	reason: "this client has as many requests waiting for events as its share of the server's; retry in a moment"}

// eventWaits is the waits for a category's next event. Every request that
// waits on one category shares one subscription (a thousand parked
// requests cost one consumer, not a thousand), which the first waiter
// starts and the last one stops.
//
// Each client known by its credential may take at most a part of the
// waits (internal/clientshare), so that one token cannot park all of
// them and leave every other client 503s.
type eventWaits struct {
	mu      sync.Mutex
	max     int                 // the bound of waits; 0: maxEventWaiters
	waiting int                 // waits counted, of every client
	clients *clientshare.Counts // each client's part of them; made at first use
	byCat   map[string]*categoryWatch
	reads   chan struct{} // a slot per read running; made at first use
}

// startRead waits for a slot among the maxEventReads reads that run at
// once; done gives it back.
func (ew *eventWaits) startRead(ctx context.Context) (done func(), err error) {
	ew.mu.Lock()
	if ew.reads == nil {
		ew.reads = make(chan struct{}, maxEventReads)
	}
	slots := ew.reads
	ew.mu.Unlock()
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// categoryWatch is one category's subscription and the requests on it.
type categoryWatch struct {
	refs   int
	next   chan struct{} // closed at the category's next event, then replaced
	err    error         // the subscription's end, if it failed
	cancel context.CancelFunc
	done   chan struct{}
}

// join counts a waiting request, on the category's watch when category is
// not empty (starting it from the log's tail when none runs), and returns
// the watch: nil for a stream's wait, and for a category's when
// maxWatchedCategories others are watched (that wait polls).
//
// client is the waiting request's clientshare.Key; the request holds a
// part of its client's share until leave.
func (ew *eventWaits) join(ctx context.Context, store *eventstore.Store, category, client string) (*categoryWatch, error) {
	ew.mu.Lock()
	bound := ew.max
	if bound == 0 {
		bound = maxEventWaiters
	}
	if ew.waiting >= bound {
		ew.mu.Unlock()
		return nil, errWaitersFull
	}
	if ew.clients == nil {
		ew.clients = clientshare.NewCounts(int64(bound))
	}
	if !ew.clients.Take(client) {
		ew.mu.Unlock()
		return nil, errClientWaitersFull
	}
	if cw := ew.byCat[category]; category == "" || cw != nil || len(ew.byCat) >= maxWatchedCategories {
		defer ew.mu.Unlock()
		return ew.add(cw), nil
	}
	ew.waiting++ // counted while it asks for the tail
	ew.mu.Unlock()
	// From the tail, asked of the server without the lock held, in one of
	// the endpoint's read slots (so a burst of waits on new categories
	// sends at most maxEventReads requests to the server at once): what
	// the waiter's read after join does not see is stored after it, and
	// the subscription delivers it (or the one another waiter started in
	// the meantime, from a tail also asked for before that read).
	var tail eventstore.Offset
	done, err := ew.startRead(ctx)
	if err == nil {
		tail, err = store.Tail(ctx)
		done()
	}
	ew.mu.Lock()
	defer ew.mu.Unlock()
	ew.waiting--
	if err != nil {
		ew.clients.Give(client)
		return nil, err
	}
	cw := ew.byCat[category]
	if cw == nil && len(ew.byCat) < maxWatchedCategories {
		sctx, cancel := context.WithCancel(context.Background())
		cw = &categoryWatch{next: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
		if ew.byCat == nil {
			ew.byCat = map[string]*categoryWatch{}
		}
		ew.byCat[category] = cw
		go ew.watch(sctx, store, category, tail, cw)
	}
	return ew.add(cw), nil
}

// add counts a waiting request, on cw if not nil. ew.mu is held.
func (ew *eventWaits) add(cw *categoryWatch) *categoryWatch {
	if cw != nil {
		cw.refs++
	}
	ew.waiting++
	return cw
}

// watch runs a category's subscription until the watch's last waiter
// leaves, waking the waiters at each event.
func (ew *eventWaits) watch(ctx context.Context, store *eventstore.Store, category string, from eventstore.Offset, cw *categoryWatch) {
	defer close(cw.done)
	for _, err := range store.SubscribeCategory(ctx, category, eventstore.From(from)) {
		ew.mu.Lock()
		if err != nil && ctx.Err() == nil {
			cw.err = err
		}
		close(cw.next)
		cw.next = make(chan struct{})
		ew.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// wake returns the channel closed at the watch's next event, or the error
// that ended its subscription; nil for no watch.
func (ew *eventWaits) wake(cw *categoryWatch) (<-chan struct{}, error) {
	if cw == nil {
		return nil, nil // a wait that polls
	}
	ew.mu.Lock()
	defer ew.mu.Unlock()
	return cw.next, cw.err
}

// leave drops a waiting request, and its part of its client's share,
// stopping the category's subscription when it was the last on it.
func (ew *eventWaits) leave(category, client string, cw *categoryWatch) {
	ew.mu.Lock()
	ew.waiting--
	ew.clients.Give(client)
	last := false
	if cw != nil {
		cw.refs--
		if last = cw.refs == 0; last && ew.byCat[category] == cw {
			delete(ew.byCat, category)
		}
	}
	ew.mu.Unlock()
	if last {
		cw.cancel()
		<-cw.done // the subscription's goroutine ends with its last waiter
	}
}

// waitEvents waits up to q.wait for something after q.from; the end of the
// wait is not an error (the answer is then an empty list).
// client is the request's clientshare.Key.
func (r *Registry) waitEvents(ctx context.Context, q eventsQuery, client string) error {
	cw, err := r.waits.join(ctx, r.store, q.category, client)
	if err != nil {
		return err
	}
	defer r.waits.leave(q.category, client, cw)
	wctx, cancel := context.WithTimeout(ctx, q.wait)
	defer cancel()
	if r.stopping != nil {
		defer context.AfterFunc(r.stopping, cancel)() // Shutdown: the wait runs out now
	}
	if q.stream != "" {
		_, err = r.store.WaitStream(wctx, q.stream, q.from)
		if err != nil && wctx.Err() != nil && ctx.Err() == nil {
			return nil // the wait ran out
		}
		return err
	}
	var poll <-chan time.Time
	if cw == nil { // past the watched categories' bound
		t := time.NewTicker(categoryPoll)
		defer t.Stop()
		poll = t.C
	}
	for {
		next, err := r.waits.wake(cw)
		if err != nil {
			return err
		}
		// Look again now that the watch runs: an event stored since the
		// first read is seen here, one stored after it wakes next.
		out, err := r.readEvents(wctx, eventsQuery{category: q.category, from: q.from, limit: 1})
		if err != nil || len(out.Events) > 0 {
			if err != nil && wctx.Err() != nil && ctx.Err() == nil {
				return nil
			}
			return err
		}
		select {
		case <-next:
		case <-poll:
		case <-wctx.Done():
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil // the wait ran out
		}
	}
}
