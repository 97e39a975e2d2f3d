package aggregate

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrInvalidID is returned for an aggregate id that cannot name a
	// stream: empty, longer than MaxIDLen, or holding "/", control
	// characters or invalid UTF-8.
	ErrInvalidID = errors.New("aggregate: invalid id")

	// ErrUnknownEvent is returned when a stored event's type is not
	// registered with the aggregate type, or an event to append is of a Go
	// type that is not registered. The error is an *EventError.
	ErrUnknownEvent = errors.New("aggregate: unknown event type")

	// ErrDecode is returned when a stored event does not decode into its
	// registered Go type, or cannot be upcast to its current schema. The
	// error is an *EventError.
	ErrDecode = errors.New("aggregate: undecodable event")

	// ErrTooManyConflicts is returned by Handle when every attempt met a
	// concurrency conflict. It wraps the last *eventstore.ConcurrencyError,
	// so errors.Is(err, eventstore.ErrConcurrency) holds too.
	ErrTooManyConflicts = errors.New("aggregate: too many concurrency conflicts")

	// ErrNoVersion is returned by LoadVersion for a version the stream has
	// not reached.
	ErrNoVersion = errors.New("aggregate: no such version")

	// ErrDefinition is returned for a definition that cannot work: an event
	// type registered twice, a Go type that is not one of the aggregate's
	// events, a missing upcaster.
	ErrDefinition = errors.New("aggregate: invalid definition")
)

// EventError reports a stored event that could not be turned into one of
// the aggregate's events (or an event that could not be stored), naming
// where it is. It matches its Kind (ErrUnknownEvent or ErrDecode).
type EventError struct {
	Kind    error
	Stream  string
	Version uint64 // 0 for an event not stored yet
	Type    string
	Schema  int
	Err     error // the codec's or upcaster's error, if any
}

// Error names the kind, the type and where the event is stored.
func (e *EventError) Error() string {
	msg := fmt.Sprintf("%v: %q", e.Kind, e.Type)
	if e.Stream != "" {
		msg += fmt.Sprintf(" in %s at version %d", e.Stream, e.Version)
	}
	if e.Schema != 0 {
		msg += fmt.Sprintf(" (schema %d)", e.Schema)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is matches the error's Kind.
func (e *EventError) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying codec or upcaster error.
func (e *EventError) Unwrap() error { return e.Err }
