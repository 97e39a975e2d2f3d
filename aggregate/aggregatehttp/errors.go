package aggregatehttp

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/reason"
	"github.com/rewindhq/rewind/internal/requestid"
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
// (eventstore.ErrUnavailable, with Retry-After), 507 when its server had
// no storage left (eventstore.ErrStorageFull), and otherwise a server
// error (serverError).
func fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	switch {
	case errors.As(err, &he):
		if he.code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, he.code, he.reason)
	case r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "the request ended before its answer: retry")
	case errors.Is(err, eventstore.ErrStorageFull):
		// Nothing was stored, and retrying does not help until an
		// operator acts (the store logged it).
		writeError(w, http.StatusInsufficientStorage, reason.StorageFull)
	case errors.Is(err, eventstore.ErrUnavailable):
		// The store's NATS cluster had no leader for a moment (an
		// election): transient, so a 503 the client retries after
		// Retry-After, never a 500. A command sent with its
		// Idempotency-Key is exactly-once when retried.
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, reason.Unavailable)
	default:
		serverError(w, r, err)
	}
}

// serverError answers a failure on the server's side: 500 with what the
// client can do and a request id, never the error's text, which is logged
// (slog's default logger) with the same id.
func serverError(w http.ResponseWriter, r *http.Request, err error) {
	id := requestid.New()
	slog.Default().Error("aggregatehttp: request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, requestid.Reason(id))
}
