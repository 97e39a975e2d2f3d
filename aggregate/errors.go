package aggregate

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrInvalidID is returned for an aggregate id that cannot name a
	// stream: empty, longer than MaxIDLen, holding "/", control
	// characters or invalid UTF-8, or making a stream name longer than
	// the store takes (a long category leaves less room).
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
	// events, a missing upcaster, a category that cannot name a stream.
	ErrDefinition = errors.New("aggregate: invalid definition")

	// ErrInvalidCommand is returned by Handle for a command that cannot
	// be run: a nil decider, an empty or too long CommandID, an empty
	// Fingerprint, a Producer id the store cannot take.
	ErrInvalidCommand = errors.New("aggregate: invalid command")

	// ErrRefused is matched by the *RefusedError that Handle returns for
	// a command id whose first handling the decider refused: the refusal
	// is given again, without running the decider.
	ErrRefused = errors.New("aggregate: command refused")

	// ErrCommandIDReused is matched by the *ReusedIDError that Handle
	// returns for a command id handled before with a different
	// Fingerprint: another command under a used id. Nothing is decided.
	ErrCommandIDReused = errors.New("aggregate: command id used by another command")

	// ErrDeciderPanic is returned by Handle when the decider panicked. The
	// panic is recovered; nothing is appended or recorded, so a retry of
	// the command runs the decider again.
	ErrDeciderPanic = errors.New("aggregate: decider panicked")

	// ErrApplyPanic is matched by the *EventError that Load, LoadVersion,
	// LoadAt and Handle return when an apply function (see On) panicked
	// on an event: the panic does not escape, and the error names the
	// event. Handle returns it after the command's events were stored
	// (its Result says where); the state after them is not cached, so
	// every later load meets the same error until the apply function is
	// fixed.
	ErrApplyPanic = errors.New("aggregate: apply function panicked")

	// ErrStateCopy is returned by Handle and the loads when the state
	// cannot be copied: the default copy goes through the state codec,
	// and a state it cannot encode or decode (a float NaN in JSON, say)
	// has no copy. Handing out the state itself would let a decider or an
	// apply function change the cached one, so the command fails instead
	// (nothing is decided or appended) and the state is not cached. A
	// state the codec cannot carry needs WithClone.
	ErrStateCopy = errors.New("aggregate: the state cannot be copied by its codec (see WithClone)")
)

// RefusedError is the refusal of a command handled before, given again to
// a command with its id (see CommandID). Message is the decider's error
// text the first time. It matches ErrRefused and, when the decider's error
// matched one registered with Definition.RegisterError, that error:
// errors.Is(err, ErrOutOfStock) holds for a retry as for the first
// handling.
type RefusedError struct {
	Stream    string
	CommandID string
	Code      string // the name the matching error was registered under ("" if none)
	Message   string
	Err       error // the registered error named Code, nil if none
}

// Error is the original refusal's message.
func (e *RefusedError) Error() string { return e.Message }

// Is matches ErrRefused.
func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Unwrap returns the registered error named Code, if any.
func (e *RefusedError) Unwrap() error { return e.Err }

// ReusedIDError reports a command whose id was recorded for a command with
// another fingerprint. It matches ErrCommandIDReused.
type ReusedIDError struct {
	Stream    string
	CommandID string
}

// Error names the id and the stream.
func (e *ReusedIDError) Error() string {
	return fmt.Sprintf("%v: %q on %q was recorded for a different command", ErrCommandIDReused, e.CommandID, e.Stream)
}

// Is matches ErrCommandIDReused.
func (e *ReusedIDError) Is(target error) bool { return target == ErrCommandIDReused }

// EventError reports a stored event that could not be turned into one of
// the aggregate's events (or an event that could not be stored), naming
// where it is. It matches its Kind (ErrUnknownEvent, ErrDecode or
// ErrApplyPanic).
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
		msg += fmt.Sprintf(" in %q at version %d", e.Stream, e.Version)
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
