// Package reason keeps the reasons of error answers short. A reason often
// quotes what the client sent (a stream name, a header); sent back whole,
// a 60 kB name makes a 60 kB error answer. Every 4xx reason goes through
// Cap, and a quoted input through Quote. It also holds the reasons that
// every HTTP handler gives for the same conditions of the store.
package reason

import (
	"strconv"
	"unicode/utf8"
)

// Reasons the HTTP handlers share for the store's own conditions, so that
// a client reads the same words from every endpoint.
const (
	// Unavailable answers a request the store could not serve because its
	// NATS cluster could not (eventstore.ErrUnavailable): a 503, retried.
	Unavailable = "the event store is unavailable for now (its cluster has no leader: an election, or too few of its nodes up): retry"
	// StorageFull answers a write its server refused for want of storage
	// (eventstore.ErrStorageFull): a 507, which retrying does not help.
	StorageFull = "the event store has no storage left: nothing was stored; its operator must free disk space or raise its storage limit"
)

// Max is the most bytes of a reason Cap keeps.
const Max = 512

// maxQuoted is the most bytes of an input Quote keeps.
const maxQuoted = 80

// Cap returns s, cut to at most Max bytes at a character's start and
// ended with "…" when cut.
func Cap(s string) string { return cut(s, Max) }

// Quote returns s as a Go-quoted string, cut first to at most 80 bytes
// (then "…" follows the closing quote).
func Quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	c := cut(s, maxQuoted)
	return strconv.Quote(c[:len(c)-len("…")]) + "…"
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
