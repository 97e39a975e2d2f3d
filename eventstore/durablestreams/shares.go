package durablestreams

import (
	"context"
	"crypto/sha256"
	"net/http"
	"sync"
	"time"
)

// The server's bounds (the requests that may wait at once, the bytes of
// answers being written) are shared by every client; without a share of
// its own, one client with a valid token could take the whole of a bound
// and leave the others 503s: ten thousand long-polls parked in half a
// second, or answers to connections that stopped reading, each held until
// its write deadline. So each client that says who it is, by its bearer
// token or its TLS client certificate, may take at most a quarter of
// each bound. Requests without either (a server without authentication,
// which serves loopback only: one user) share the whole.

// shareOf is the part of a bound one client may take: 1/shareOf of it.
const shareOf = 4

// clientKey names the client a request comes from, for its shares: a
// digest of its Authorization header, else of its TLS client certificate,
// else "" (no share of its own). It is asked after the request was
// authorized, so a key is a credential the server took.
func clientKey(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		sum := sha256.Sum256([]byte(a))
		return string(sum[:16])
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
		return "c" + string(sum[:16])
	}
	return ""
}

// shares holds each client's part of one bound: the waits it has parked,
// or the bytes of its answers in flight. A client's entry lives while it
// holds anything.
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
	return &shares{max: max(bound/shareOf, 1), clients: map[string]*share{}}
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

// waitShares counts each client's parked waits.
type waitShares struct {
	mu  sync.Mutex
	max int64 // what one client may park
	n   map[string]int64
}

func newWaitShares(bound int64) *waitShares {
	return &waitShares{max: max(bound/shareOf, 1), n: map[string]int64{}}
}

// take counts one more wait of key's, and reports whether its share had
// room for it.
func (s *waitShares) take(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[key] >= s.max {
		return false
	}
	s.n[key]++
	return true
}

// give gives back one taken with take.
func (s *waitShares) give(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[key]--; s.n[key] <= 0 {
		delete(s.n, key)
	}
}
