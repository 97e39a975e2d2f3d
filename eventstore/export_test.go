package eventstore

import (
	"context"
	"fmt"
	"iter"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// StartUsersServer starts a JetStream server on 127.0.0.1, in a temporary
// directory, with the given users (their permissions what a test
// refuses), and shuts it down at the test's end.
func StartUsersServer(t testing.TB, users ...*server.User) *server.Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{ServerName: "users", Host: "127.0.0.1", Port: server.RANDOM_PORT,
		JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true, Users: users})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	return srv
}

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

// AppendBeforeObserver is Append as it was before the Observer: a copy,
// line for line, of the body Append had before its nil check (commit
// 8c52082's parent), which is today's (*Store).append. It is the
// baseline "today" of BenchmarkObserve and BenchmarkObserveOff, which
// first check that its body is still the same text as append's.
func AppendBeforeObserver(ctx context.Context, s *Store, stream string, events []Event, opts ...AppendOption) (AppendResult, error) {
	ac := appendConfig{sentUnits: -1}
	for _, o := range opts {
		o(&ac)
	}
	var units []int
	if ac.producer != nil {
		units = []int{len(events)}
	}
	res, err := s.appendCommit(ctx, stream, events, &ac, units)
	if err != nil {
		return res, fmt.Errorf("eventstore: append to %q: %w", stream, err)
	}
	return res, nil
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

// WithStartDelay sets how long a start behind Open waits for a cue before
// it begins anyway (startDelay): the tests set it long to see what cues it.
func WithStartDelay(d time.Duration) Option {
	return func(c *config) error {
		c.startDelay = d
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
