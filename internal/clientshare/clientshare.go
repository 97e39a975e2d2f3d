// Package clientshare gives each client of an HTTP server its own part of
// a bound the server's clients share. Without one, a single client with a
// valid credential could take the whole of a bound (ten thousand parked
// long-polls in half a second) and leave every other client 503s. A
// client is known by the credential it was authorized with: its bearer
// token or its TLS client certificate. Requests with neither (a server
// without authentication, which serves loopback only: one user) share the
// whole bound, and have no part of their own.
package clientshare

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"sync"
)

// Of is the part of a bound one client may take: 1/Of of it.
const Of = 4

// Key names the client a request comes from: a digest of the credential
// of its Authorization header, else of its TLS client certificate, else
// "" (no part of its own). Ask it after the request was authorized, so
// that a key is a credential the server took; the digest keeps the
// credential itself out of the server's memory of its clients.
func Key(r *http.Request) string {
	if a := r.Header.Get("Authorization"); a != "" {
		sum := sha256.Sum256([]byte(credential(a)))
		return string(sum[:16])
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
		return "c" + string(sum[:16])
	}
	return ""
}

// credential is an Authorization header as one client has it, however
// spelt: the authorizers take the scheme in any case and the credential
// after any run of spaces, so "Bearer t", "bearer  t" and "BEARER t" are
// one client (each spelling was a share of its own). A JWT is its signed
// part, header and claims: its signature's last character has spare bits
// that a decoder ignores, and a client that flips them has the same
// token.
func credential(a string) string {
	scheme, cred, ok := strings.Cut(a, " ")
	if !ok {
		return a
	}
	cred = strings.TrimSpace(cred)
	if strings.Count(cred, ".") == 2 {
		cred = cred[:strings.LastIndexByte(cred, '.')]
	}
	return strings.ToLower(scheme) + " " + cred
}

// Counts counts what each client holds of a bound counted in requests
// (the requests parked waiting, say). A client's entry lives while it
// holds anything. The zero value is not usable: make one with NewCounts.
type Counts struct {
	mu  sync.Mutex
	max int64 // what one client may hold
	n   map[string]int64
}

// NewCounts returns the counts of a bound of the given size, of which each
// client may hold 1/Of (at least one).
func NewCounts(bound int64) *Counts {
	return &Counts{max: max(bound/Of, 1), n: map[string]int64{}}
}

// Max is what one client may hold.
func (c *Counts) Max() int64 { return c.max }

// Take counts one more for key and reports whether its part had room for
// it. A key of "" (no client of its own) always has room: the caller's
// whole bound is what limits it. A Take that reports true is given back
// with Give.
func (c *Counts) Take(key string) bool {
	if key == "" {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key] >= c.max {
		return false
	}
	c.n[key]++
	return true
}

// Give gives back one Take of key's that reported true.
func (c *Counts) Give(key string) {
	if key == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key]--; c.n[key] <= 0 {
		delete(c.n, key)
	}
}

// Len is the number of clients holding anything.
func (c *Counts) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.n)
}
