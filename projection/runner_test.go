package projection_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/projection"
)

// openSQLCheckpoints opens a SQLite database as the package docs show
// (WAL, a busy timeout) with its checkpoint and lease tables.
func openSQLCheckpoints(t testing.TB) *checkpoint.SQL {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "model.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cps, err := checkpoint.NewSQL(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return cps
}

// TestOneName: a projection whose sink keeps its checkpoint under another
// name is refused by Start, Replay and Rebuild, before anything is read.
func TestOneName(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "n/1", 3)
	model := &memModel{}
	p := projection.Projection{Name: "orders", Source: projection.All(),
		Sink: projection.AtLeastOnce("orders-v1", model, &checkpoint.Memory{})}
	r := projection.NewRunner(s, nil)
	defer r.Close()
	for what, err := range map[string]error{
		"Start":   r.Start(ctx, p),
		"Replay":  projection.Replay(ctx, s, p, nil),
		"Rebuild": projection.Rebuild(ctx, r, p, nil),
	} {
		if !errors.Is(err, eventstore.ErrInvalidOption) || !strings.Contains(err.Error(), `"orders-v1"`) {
			t.Errorf("%s with a sink named otherwise: %v, want ErrInvalidOption naming the sink's name", what, err)
		}
	}
	if len(model.snapshot()) != 0 {
		t.Fatal("events applied")
	}
	if _, ok := r.Status("orders"); ok {
		t.Fatal("the projection was started")
	}
}

// TestRebuildRunning: Rebuild with the name of a running projection fails
// at once, replaying nothing.
func TestRebuildRunning(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "rr/1", 20)
	r := projection.NewRunner(s, nil)
	defer r.Close()
	if err := r.Start(ctx, projection.Projection{Name: "rr", Source: projection.All(),
		Sink: projection.AtLeastOnce("rr", &memModel{}, &checkpoint.Memory{})}); err != nil {
		t.Fatal(err)
	}
	next := &memModel{}
	err := projection.Rebuild(ctx, r, projection.Projection{Name: "rr", Source: projection.All(),
		Sink: projection.AtLeastOnce("rr", next, &checkpoint.Memory{})}, nil)
	if !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Fatalf("rebuild of a running name: %v", err)
	}
	if n := len(next.snapshot()); n != 0 {
		t.Fatalf("%d events replayed before refusing", n)
	}
}

// TestRebuildOwnsItsContext: the context given to Rebuild bounds the
// replay only; the live projection it starts runs after it ends, and the
// replay's failures are logged to the runner's logger.
func TestRebuildOwnsItsContext(t *testing.T) {
	s := openStore(t)
	appendN(t, s, "rc/1", 10)
	var logs bytes.Buffer
	var logMu sync.Mutex
	r := projection.NewRunner(s, slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil)))
	defer r.Close()
	var failed atomic.Bool
	model := &memModel{fail: func(eventstore.Event) error {
		if failed.CompareAndSwap(false, true) {
			return errors.New("first try fails")
		}
		return nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err := projection.Rebuild(ctx, r, projection.Projection{Name: "rc-v2", Source: projection.Category("rc"),
		Sink: projection.AtLeastOnce("rc-v2", model, &checkpoint.Memory{})}, nil)
	cancel() // the rebuild's deadline is over
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "rc/1", 5)
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if err := r.WaitCaughtUp(wctx, "rc-v2"); err != nil {
		t.Fatalf("the rebuilt projection after its rebuild's context ended: %v", err)
	}
	if st, _ := r.Status("rc-v2"); st.State != projection.StateLive {
		t.Fatalf("state %s, want live", st.State)
	}
	checkOnceInOrder(t, model.snapshot(), collect(t, s.ReadCategory(context.Background(), "rc")))
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "first try fails") {
		t.Fatalf("the replay's failure is not in the runner's log: %q", logs.String())
	}
}

// waitState waits until projection name is in state want.
func waitState(t *testing.T, r *projection.Runner, name string, want projection.State) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, _ := r.Status(name)
		if st.State == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %+v, want %s", name, st, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestStatusesSorted: Statuses lists the projections by name.
func TestStatusesSorted(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	r := projection.NewRunner(s, nil)
	defer r.Close()
	names := []string{"m", "c", "x", "a", "q", "b", "z", "k"}
	for _, n := range names {
		if err := r.Start(ctx, projection.Projection{Name: n, Source: projection.All(),
			Sink: projection.AtLeastOnce(n, &memModel{}, &checkpoint.Memory{})}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, st := range r.Statuses() {
		got = append(got, st.Name)
	}
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Fatalf("Statuses in order %v, want %v", got, names)
	}
}

// TestRetries: NoRetries hands a failing event to the poison policy at its
// first failure; 0 is the default (5 retries); other negative values are
// refused.
func TestRetries(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "re/1", 1)
	r := projection.NewRunner(s, nil)
	defer r.Close()
	var calls atomic.Int32
	failing := projection.HandlerFunc(func(ctx context.Context, b projection.Batch) error {
		calls.Add(1)
		return errors.New("always")
	})
	if err := r.Start(ctx, projection.Projection{Name: "none", Source: projection.All(), Retries: projection.NoRetries,
		Sink: projection.AtLeastOnce("none", failing, &checkpoint.Memory{})}); err != nil {
		t.Fatal(err)
	}
	var perr *projection.PoisonError
	if err := r.WaitCaughtUp(ctx, "none"); !errors.As(err, &perr) {
		t.Fatalf("NoRetries: %v, want a PoisonError", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("NoRetries: handler called %d times, want 1", n)
	}
	// The same for the live projection a Rebuild starts.
	var live atomic.Int32
	failLive := projection.HandlerFunc(func(ctx context.Context, b projection.Batch) error {
		if b.Replay {
			return nil
		}
		live.Add(1)
		return errors.New("always, live")
	})
	if err := projection.Rebuild(ctx, r, projection.Projection{Name: "rebuilt", Source: projection.All(), Retries: projection.NoRetries,
		Sink: projection.AtLeastOnce("rebuilt", failLive, &checkpoint.Memory{})}, nil); err != nil {
		t.Fatal(err)
	}
	waitState(t, r, "rebuilt", projection.StateLive)
	appendN(t, s, "re/1", 1)
	if err := r.WaitCaughtUp(ctx, "rebuilt"); !errors.As(err, &perr) {
		t.Fatalf("NoRetries after Rebuild: %v, want a PoisonError", err)
	}
	if n := live.Load(); n != 1 {
		t.Fatalf("NoRetries after Rebuild: handler called %d times, want 1", n)
	}
	err := r.Start(ctx, projection.Projection{Name: "bad", Source: projection.All(), Retries: -2,
		Sink: projection.AtLeastOnce("bad", failing, &checkpoint.Memory{})})
	if !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Fatalf("Retries -2: %v, want ErrInvalidOption", err)
	}
}

// TestStartAfterClose: a closed runner starts nothing (ErrClosed), from
// Start or Rebuild: a projection started after Close ran on with no owner
// to stop it.
func TestStartAfterClose(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "closed/1", 1)
	r := projection.NewRunner(s, nil)
	r.Close()
	p := projection.Projection{Name: "late", Source: projection.Category("closed"),
		Sink: projection.AtLeastOnce("late", &memModel{}, &checkpoint.Memory{})}
	if err := r.Start(ctx, p); !errors.Is(err, projection.ErrClosed) {
		t.Errorf("Start after Close: %v, want ErrClosed", err)
	}
	if err := projection.Rebuild(ctx, r, p, nil); !errors.Is(err, projection.ErrClosed) {
		t.Errorf("Rebuild after Close: %v, want ErrClosed", err)
	}
	if st, ok := r.Status("late"); ok {
		t.Errorf("a projection runs on a closed runner: %+v", st)
	}
	r.Close()
}

// TestRunnerWithoutStore: a Runner made without a store (NewRunner(nil,
// ...), or a zero Runner) and Replay without one refuse to start with
// ErrInvalidOption, and such a Runner closes: none is a nil dereference.
func TestRunnerWithoutStore(t *testing.T) {
	ctx := context.Background()
	p := projection.Projection{Name: "nostore", Source: projection.Category("x"),
		Sink: projection.AtLeastOnce("nostore", &memModel{}, &checkpoint.Memory{})}
	r := projection.NewRunner(nil, nil)
	if err := r.Start(ctx, p); !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Errorf("Start on NewRunner(nil): %v, want ErrInvalidOption", err)
	}
	r.Close()
	var zero projection.Runner
	if err := zero.Start(ctx, p); !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Errorf("Start on a zero Runner: %v, want ErrInvalidOption", err)
	}
	zero.Close()
	if err := projection.Replay(ctx, nil, p, nil); !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Errorf("Replay without a store: %v, want ErrInvalidOption", err)
	}
}

// TestWaitCaughtUpNotRunning: WaitCaughtUp on a name the runner does not
// run, or on a projection that was stopped, is an error matching
// ErrNotRunning, told apart from a failure (Status.Err) and from ctx's end.
func TestWaitCaughtUpNotRunning(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "nr/1", 1)
	r := projection.NewRunner(s, nil)
	defer r.Close()
	if err := r.WaitCaughtUp(ctx, "unknown"); !errors.Is(err, projection.ErrNotRunning) {
		t.Errorf("an unknown name: %v, want ErrNotRunning", err)
	}
	if err := r.Start(ctx, projection.Projection{Name: "p", Source: projection.Category("nr"),
		Sink: projection.AtLeastOnce("p", &memModel{}, &checkpoint.Memory{})}); err != nil {
		t.Fatal(err)
	}
	r.Stop("p")
	if err := r.WaitCaughtUp(ctx, "p"); !errors.Is(err, projection.ErrNotRunning) {
		t.Errorf("a stopped projection: %v, want ErrNotRunning", err)
	}
}
