package durablestreams

import (
	"context"
	"sync"
	"time"

	"github.com/rewindhq/rewind/internal/clientshare"
)

// The server's bounds (the requests that may wait at once, the bytes of
// request bodies being read and of answers being written) are shared by
// every client; each client that says who it is may take at most a part
// of each (internal/clientshare says why and how a client is known): the
// waits are counted with clientshare.Counts, and the bytes of bodies and
// answers in flight with shares below, whose requests may wait for their
// client's other bodies or answers to be done.

// shares holds each client's part of a bound of bytes: its bodies or its
// answers in flight. A client's entry lives while it holds anything.
type shares struct {
	mu      sync.Mutex
	max     int64 // what one client may hold
	clients map[string]*share
}

type share struct {
	b    *budget
	refs int // requests holding or waiting for part of it
}

func newShares(bound int64) *shares {
	return &shares{max: max(bound/clientshare.Of, 1), clients: map[string]*share{}}
}

// acquire takes n of key's share (at most the share: a request larger
// than it runs alone), waiting up to wait for the client's other requests
// to give theirs back. It returns what it took (0: nothing, it gave up)
// and the function that gives it back, to be called once.
func (s *shares) acquire(ctx context.Context, key string, n int64, wait time.Duration) (int64, func(int64)) {
	s.mu.Lock()
	sh := s.clients[key]
	if sh == nil {
		sh = &share{b: newBudget(s.max)}
		s.clients[key] = sh
	}
	sh.refs++
	s.mu.Unlock()
	taken := sh.b.acquire(ctx, n, wait)
	if taken == 0 {
		s.done(key, sh)
		return 0, nil
	}
	return taken, func(n int64) {
		sh.b.release(n)
		s.done(key, sh)
	}
}

// done drops a request's hold on key's entry, and the entry once nothing
// holds it.
func (s *shares) done(key string, sh *share) {
	s.mu.Lock()
	sh.refs--
	if sh.refs == 0 {
		delete(s.clients, key)
	}
	s.mu.Unlock()
}

// heldBytes is what one request holds of a budget of bytes (the bodies or
// the answers in flight) and of its client's share of it.
type heldBytes struct {
	b     *budget
	taken int64
	mine  func(int64) // gives back to the client's share; nil without one
	held  int64       // of the client's share
}

// holdBytes takes n of key's share in sh (none without a key), then n of
// b, each waiting up to budgetWait: the client's share first, so that one
// client's requests wait for its own and never hold every other client's.
// It returns nil when either had no room, and whether that was the
// client's share.
func holdBytes(ctx context.Context, b *budget, sh *shares, key string, n int64) (hb *heldBytes, shareFull bool) {
	hb = &heldBytes{b: b}
	if key != "" {
		if hb.held, hb.mine = sh.acquire(ctx, key, n, budgetWait); hb.held == 0 {
			return nil, true
		}
	}
	if hb.taken = b.acquire(ctx, n, budgetWait); hb.taken == 0 {
		hb.release()
		return nil, false
	}
	return hb, false
}

// release gives the rest back; it may be called again.
func (a *heldBytes) release() {
	a.b.release(a.taken)
	a.taken = 0
	if a.mine != nil {
		a.mine(a.held)
		a.mine, a.held = nil, 0
	}
}
