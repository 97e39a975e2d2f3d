package projection_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/projection"
)

// TestHandlerPanicIsPoison: a handler that panics on an event (a nil map,
// an index out of range on data it did not expect) does not take the
// process down: the panic is an error wrapping ErrHandlerPanic, retried and
// then poison like any other, under either policy; an ExactlyOnce sink's
// transaction is rolled back, so the database is not left locked.
func TestHandlerPanicIsPoison(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "panics/1", 3)
	r := projection.NewRunner(s, nil)
	defer r.Close()
	panicky := func(b projection.Batch) {
		for _, e := range b.Events {
			if e.Version == 2 {
				var m map[string]int
				m["boom"]++
			}
		}
	}
	var perr *projection.PoisonError
	if err := r.Start(ctx, projection.Projection{Name: "stop", Source: projection.Category("panics"), Retries: projection.NoRetries,
		Sink: projection.AtLeastOnce("stop", projection.HandlerFunc(func(ctx context.Context, b projection.Batch) error {
			panicky(b)
			return nil
		}), &checkpoint.Memory{})}); err != nil {
		t.Fatal(err)
	}
	err := r.WaitCaughtUp(ctx, "stop")
	if !errors.As(err, &perr) || perr.Event.Version != 2 || !errors.Is(err, projection.ErrHandlerPanic) {
		t.Fatalf("a handler panicking on v2: %v, want a PoisonError of v2 matching ErrHandlerPanic", err)
	}

	if err := r.Start(ctx, projection.Projection{Name: "dead", Source: projection.Category("panics"), Retries: projection.NoRetries,
		Poison: projection.DeadLetter, Sink: projection.AtLeastOnce("dead", projection.HandlerFunc(func(ctx context.Context, b projection.Batch) error {
			panicky(b)
			return nil
		}), &checkpoint.Memory{})}); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitCaughtUp(ctx, "dead"); err != nil {
		t.Fatalf("DeadLetter: %v, want the panicking event dead-lettered and the rest applied", err)
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "model.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cps, err := checkpoint.NewSQL(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE seen (version INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx, projection.Projection{Name: "tx", Source: projection.Category("panics"), Retries: projection.NoRetries,
		Sink: projection.ExactlyOnce("tx", db, cps, projection.TxHandlerFunc(func(ctx context.Context, tx *sql.Tx, b projection.Batch) error {
			for _, e := range b.Events {
				if _, err := tx.ExecContext(ctx, `INSERT INTO seen VALUES (?)`, e.Version); err != nil {
					return err
				}
			}
			panicky(b)
			return nil
		}))}); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitCaughtUp(ctx, "tx"); !errors.As(err, &perr) || !errors.Is(err, projection.ErrHandlerPanic) {
		t.Fatalf("ExactlyOnce: %v, want a PoisonError matching ErrHandlerPanic", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var n int
	if err := db.QueryRowContext(wctx, `SELECT COUNT(*) FROM seen`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("ExactlyOnce: %d rows (%v), want 1: v1's alone, the panicking batches rolled back", n, err)
	}
	if _, err := db.ExecContext(wctx, `INSERT INTO seen VALUES (0)`); err != nil {
		t.Fatalf("a write after the panic: %v (the panicking transaction still holds the database)", err)
	}
}

// TestSinkWithoutHandlerIsRefused: a sink of this package made with a nil
// handler, database or checkpoint store is refused by Start, Replay and
// Rebuild, rather than met by a nil dereference in the projection's
// goroutine.
func TestSinkWithoutHandlerIsRefused(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "nils/1", 1)
	r := projection.NewRunner(s, nil)
	defer r.Close()
	ok := projection.HandlerFunc(func(ctx context.Context, b projection.Batch) error { return nil })
	okTx := projection.TxHandlerFunc(func(ctx context.Context, tx *sql.Tx, b projection.Batch) error { return nil })
	cps := openSQLCheckpoints(t)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, sink := range map[string]projection.Sink{
		"no-handler":     projection.AtLeastOnce("no-handler", nil, &checkpoint.Memory{}),
		"no-checkpoints": projection.AtLeastOnce("no-checkpoints", ok, nil),
		"no-tx-handler":  projection.ExactlyOnce("no-tx-handler", db, cps, nil),
		"no-db":          projection.ExactlyOnce("no-db", nil, cps, okTx),
		"no-sql":         projection.ExactlyOnce("no-sql", db, nil, okTx),
	} {
		p := projection.Projection{Name: name, Source: projection.Category("nils"), Sink: sink}
		if err := r.Start(ctx, p); !errors.Is(err, eventstore.ErrInvalidOption) {
			t.Errorf("Start %s: %v, want ErrInvalidOption", name, err)
		}
		if err := projection.Replay(ctx, s, p, nil); !errors.Is(err, eventstore.ErrInvalidOption) {
			t.Errorf("Replay %s: %v, want ErrInvalidOption", name, err)
		}
		if err := projection.Rebuild(ctx, r, p, nil); !errors.Is(err, eventstore.ErrInvalidOption) {
			t.Errorf("Rebuild %s: %v, want ErrInvalidOption", name, err)
		}
	}
}

// TestPoisonStatusPosition: a batch that fails is tried one event at a
// time, and the events before the poison one are applied and saved; the
// stopped projection's Status says so (its Position is the last of them,
// as its checkpoint is, and its lag counts from there), not the position
// before the batch.
func TestPoisonStatusPosition(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "poisoned/1", 3)
	r := projection.NewRunner(s, nil)
	defer r.Close()
	var applied []eventstore.Offset
	h := projection.HandlerFunc(func(ctx context.Context, b projection.Batch) error {
		for _, e := range b.Events {
			if e.Version == 2 {
				return errors.New("v2 is poison")
			}
		}
		for _, e := range b.Events {
			applied = append(applied, e.Offset)
		}
		return nil
	})
	cps := &checkpoint.Memory{}
	if err := r.Start(ctx, projection.Projection{Name: "p", Source: projection.Category("poisoned"), Retries: projection.NoRetries,
		Sink: projection.AtLeastOnce("p", h, cps)}); err != nil {
		t.Fatal(err)
	}
	var perr *projection.PoisonError
	if err := r.WaitCaughtUp(ctx, "p"); !errors.As(err, &perr) {
		t.Fatalf("%v, want a PoisonError", err)
	}
	cp, err := cps.Load(ctx, "p")
	if err != nil || len(applied) != 1 || cp.Offset != applied[0] {
		t.Fatalf("applied %v, checkpoint %+v (%v): want v1 alone, saved", applied, cp, err)
	}
	st, _ := r.Status("p")
	if st.State != projection.StateFailed || st.Position != cp.Offset || st.LagCommits != 2 {
		t.Fatalf("Status %+v: want failed at v1's offset %s (its checkpoint's), 2 commits behind", st, cp.Offset)
	}
}
