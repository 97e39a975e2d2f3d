package checkpoint_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/checkpoint/checkpointtest"
	"github.com/rewindhq/rewind/eventstore"

	_ "modernc.org/sqlite"
)

func TestMemory(t *testing.T) {
	checkpointtest.Run(t, func(t *testing.T) checkpoint.Store { return &checkpoint.Memory{} })
	checkpointtest.RunLeaser(t, func(t *testing.T) checkpoint.Leaser { return &checkpoint.Memory{} })
}

func openKV(t *testing.T) *checkpoint.KV {
	ctx := context.Background()
	s, err := eventstore.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	kv, err := checkpoint.NewKV(ctx, s, "")
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func TestKV(t *testing.T) {
	checkpointtest.Run(t, func(t *testing.T) checkpoint.Store { return openKV(t) })
	checkpointtest.RunLeaser(t, func(t *testing.T) checkpoint.Leaser { return openKV(t) })
}

// TestNewWithoutStore: NewKV without a store and NewSQL without a
// database are errors wrapping eventstore.ErrInvalidOption, not a nil
// dereference in the caller's goroutine.
func TestNewWithoutStore(t *testing.T) {
	ctx := context.Background()
	if _, err := checkpoint.NewKV(ctx, nil, ""); !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Errorf("NewKV(nil): %v, want ErrInvalidOption", err)
	}
	if _, err := checkpoint.NewSQL(ctx, nil); !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Errorf("NewSQL(nil): %v, want ErrInvalidOption", err)
	}
}

// TestNewSQLNilOption: a nil SQLOption is ignored, not a nil
// dereference; the options beside it still apply.
func TestNewSQLNilOption(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "rm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := checkpoint.NewSQL(context.Background(), db, nil, checkpoint.SQLTable("my_checkpoints"), nil); err != nil {
		t.Fatalf("NewSQL with nil options: %v", err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'my_checkpoints'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the table named by the option beside the nil ones: %d, %v", n, err)
	}
}

func openSQL(t *testing.T) *checkpoint.SQL {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "rm.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := checkpoint.NewSQL(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSQL(t *testing.T) {
	checkpointtest.Run(t, func(t *testing.T) checkpoint.Store { return openSQL(t) })
	checkpointtest.RunLeaser(t, func(t *testing.T) checkpoint.Leaser { return openSQL(t) })
}

// TestLeaseHeldError: every Leaser of the package tells a holder it
// refuses whose lease it is and when that lapses, as an error matching
// ErrConflict.
func TestLeaseHeldError(t *testing.T) {
	ctx := context.Background()
	for name, l := range map[string]checkpoint.Leaser{"memory": &checkpoint.Memory{}, "kv": openKV(t), "sql": openSQL(t)} {
		held, err := l.Acquire(ctx, "p", "a", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Acquire(ctx, "p", "b", time.Minute)
		var he *checkpoint.LeaseHeldError
		if !errors.Is(err, checkpoint.ErrConflict) || !errors.As(err, &he) || he.Holder != "a" || he.Name != "p" ||
			he.Expires.Sub(held.Expires).Abs() > time.Microsecond {
			t.Errorf("%s: second holder: %v (%+v), want a LeaseHeldError naming a until %v", name, err, he, held.Expires)
		}
	}
}

// TestSQLQuerier: LoadTx and SaveTx take a checkpoint.Querier, which a
// caller can name: a *sql.DB, *sql.Tx or *sql.Conn, or a type of its own.
func TestSQLQuerier(t *testing.T) {
	ctx := context.Background()
	s := openSQL(t)
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "other.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := checkpoint.NewSQL(ctx, db); err != nil {
		t.Fatal(err)
	}
	var q checkpoint.Querier = conn
	save := func(q checkpoint.Querier, rev uint64) (uint64, error) {
		return s.SaveTx(ctx, q, "p", "00000000000000000003_999999", rev)
	}
	if _, err := save(q, 0); err != nil {
		t.Fatal(err)
	}
	if cp, err := s.LoadTx(ctx, q, "p"); err != nil || cp.Revision != 1 {
		t.Fatalf("load on a *sql.Conn: %+v, %v", cp, err)
	}
}

// TestSQLSameTransaction: a checkpoint saved with SaveTx commits with the
// read model's change, or (rolled back) neither does.
func TestSQLSameTransaction(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "rm.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cps, err := checkpoint.NewSQL(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE orders (id TEXT PRIMARY KEY, total INTEGER)`); err != nil {
		t.Fatal(err)
	}
	apply := func(total int, offset eventstore.Offset, rev uint64, commit bool) {
		t.Helper()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, total) VALUES ('o1', ?) ON CONFLICT (id) DO UPDATE SET total = excluded.total`, total); err != nil {
			t.Fatal(err)
		}
		if _, err := cps.SaveTx(ctx, tx, "orders", offset, rev); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	check := func(wantTotal int, wantOffset eventstore.Offset) {
		t.Helper()
		var total int
		if err := db.QueryRowContext(ctx, `SELECT total FROM orders WHERE id = 'o1'`).Scan(&total); err != nil && wantTotal != 0 {
			t.Fatal(err)
		}
		cp, err := cps.Load(ctx, "orders")
		if err != nil || total != wantTotal || cp.Offset != wantOffset {
			t.Fatalf("total %d at %s (%v); want %d at %s", total, cp.Offset, err, wantTotal, wantOffset)
		}
	}
	apply(10, "00000000000000000001_999999", 0, true)
	check(10, "00000000000000000001_999999")
	apply(99, "00000000000000000002_999999", 1, false) // rolled back: neither
	check(10, "00000000000000000001_999999")
	apply(20, "00000000000000000002_999999", 1, true)
	check(20, "00000000000000000002_999999")
}

// TestKVBucketName: a bucket name JetStream would refuse is an
// ErrInvalidOption from NewKV, not the server's untyped error.
func TestKVBucketName(t *testing.T) {
	store, err := eventstore.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, bad := range []string{"a.b", "a b", "a*", "ä", strings.Repeat("x", 65)} {
		if _, err := checkpoint.NewKV(t.Context(), store, bad); !errors.Is(err, eventstore.ErrInvalidOption) {
			t.Errorf("NewKV(%q): %v, want ErrInvalidOption", bad, err)
		}
	}
	if _, err := checkpoint.NewKV(t.Context(), store, "my-checkpoints_2"); err != nil {
		t.Errorf("NewKV of a good name: %v", err)
	}
}
