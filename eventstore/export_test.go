package eventstore

import (
	"context"
	"fmt"
	"iter"
	"testing"
)

// ReadLog reads every event from the log itself, in log order, up to the
// log's end when the read began, never from the read index's log-ordered
// copy (as ReadAll did before the index held one): the tests that hold the
// index to the log read the log with it. Bounds: From, ToOffset, ToTime.
func ReadLog(ctx context.Context, s *Store, opts ...ReadOption) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		if err := s.readLog(ctx, logSelection{}, opts, false, yield); err != nil {
			yield(Event{}, fmt.Errorf("eventstore: read the log: %w", err))
		}
	}
}

// AppendUnobserved is Append's body without the Observer's check: the
// code path of an Append before there was an Observer, the baseline of
// BenchmarkObserve.
func AppendUnobserved(ctx context.Context, s *Store, stream string, events []Event, opts ...AppendOption) (AppendResult, error) {
	return s.append(ctx, stream, events, opts)
}

// WithStartHold makes a store that Open returns before its server has
// started (a clean-close reopen) wait for hold to close before it starts
// the server: the tests read it while its server is not up.
func WithStartHold(hold <-chan struct{}) Option {
	return func(c *config) error {
		c.startHold = hold
		return nil
	}
}

// mustStart waits for a store that Open may have returned before its
// server was up (cleanclose.go): the internal tests that use the store's
// connections or server directly call it first.
func mustStart(t testing.TB, s *Store) {
	t.Helper()
	if err := s.awaitStart(context.Background()); err != nil {
		t.Fatalf("store start: %v", err)
	}
}
