// Package requestid names one failed request, so that the answer a client
// got and the server's log line for it can be matched: a 5xx answer of
// Rewind's HTTP handlers never carries the internal error, only what the
// client can do and this id, and the error itself is logged with it.
package requestid

import (
	"crypto/rand"
	"encoding/hex"
)

// New returns a fresh request id: 16 hexadecimal characters, random.
func New() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Reason is the text of a 5xx answer with id: what the client can do.
func Reason(id string) string {
	return "the server could not complete the request; retry later, and if it goes on, report request id " + id
}
