package aggregatehttp

import (
	"errors"
	"net/http"

	"github.com/rewindhq/rewind/eventstore"
)

// ErrRegister is returned by Register for a registration that cannot work.
var ErrRegister = errors.New("invalid registration")

// httpError is an error with the status code and the short reason a
// client gets; err, if set, is the cause behind it.
type httpError struct {
	code   int
	reason string
	err    error
}

func (e *httpError) Error() string {
	if e.err != nil {
		return e.reason + ": " + e.err.Error()
	}
	return e.reason
}

func (e *httpError) Unwrap() error { return e.err }

// badRequest is a 400 with reason.
func badRequest(reason string) error { return &httpError{code: http.StatusBadRequest, reason: reason} }

// notFound is a 404 with reason.
func notFound(reason string) error { return &httpError{code: http.StatusNotFound, reason: reason} }

// fail answers err: its own code and reason for an *httpError, 503 when
// the request's context ended or the store's cluster was unavailable
// (eventstore.ErrUnavailable, with Retry-After), 500 otherwise (with the error's text: the
// endpoints are a developer's and operator's tool, and the reason is what
// they need).
func fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	switch {
	case errors.As(err, &he):
		writeError(w, he.code, he.reason)
	case r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "the request ended: "+r.Context().Err().Error())
	case errors.Is(err, eventstore.ErrUnavailable):
		// The store's NATS cluster had no leader for a moment (an
		// election): transient, so a 503 the client retries after
		// Retry-After, never a 500. A command sent with its
		// Idempotency-Key is exactly-once when retried.
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "the event store is unavailable for a moment (its cluster is electing a leader): retry")
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}
