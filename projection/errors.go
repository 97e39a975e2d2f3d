package projection

import "errors"

// Sentinel errors, matched with errors.Is.
var (
	// ErrHandlerPanic is matched by the error of a batch whose handler
	// (or sink) panicked: the panic is recovered, the batch is retried
	// and its event is then poison like any other that keeps failing,
	// so a handler that panics on an event it did not expect stops its
	// projection (or dead-letters the event) instead of taking the
	// process down, and again at every restart.
	ErrHandlerPanic = errors.New("projection: handler panicked")

	// ErrClosed is returned by Start and Rebuild on a Runner that was
	// closed: a projection started then would run with no owner left to
	// stop it.
	ErrClosed = errors.New("projection: runner closed")

	// ErrNotRunning is returned by WaitCaughtUp for a projection the
	// runner does not run: never started under that name, or stopped
	// (one that failed returns its Status.Err instead).
	ErrNotRunning = errors.New("projection: not running")
)
