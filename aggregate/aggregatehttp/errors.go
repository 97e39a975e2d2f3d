package aggregatehttp

import (
	"errors"
	"net/http"
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
// the request's context ended, 500 otherwise (with the error's text: the
// endpoints are a developer's and operator's tool, and the reason is what
// they need).
func fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	switch {
	case errors.As(err, &he):
		writeError(w, he.code, he.reason)
	case r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "the request ended: "+r.Context().Err().Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}
