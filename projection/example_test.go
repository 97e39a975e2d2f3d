package projection_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/projection"

	_ "modernc.org/sqlite"
)

// An in-memory read model, a count of the orders placed: caught up, then
// live (the order appended after Start is counted too).
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rewind-example-*")
	defer os.RemoveAll(dir)
	store, err := eventstore.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	for _, stream := range []string{"orders/1", "orders/2", "orders/3"} {
		if _, err := store.Append(ctx, stream, []eventstore.Event{{Type: "OrderPlaced"}}); err != nil {
			log.Fatal(err)
		}
	}

	var mu sync.Mutex
	placed := 0
	runner := projection.NewRunner(store, nil)
	defer runner.Close()
	err = runner.Start(ctx, projection.Projection{
		Name:   "order-count",
		Source: projection.Category("orders"),
		Types:  []string{"OrderPlaced"},
		Sink: projection.AtLeastOnce("order-count", projection.HandlerFunc(func(ctx context.Context, b projection.Batch) error {
			mu.Lock()
			placed += len(b.Events)
			mu.Unlock()
			return nil
		}), &checkpoint.Memory{}),
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := store.Append(ctx, "orders/4", []eventstore.Event{{Type: "OrderPlaced"}}); err != nil {
		log.Fatal(err)
	}
	if err := runner.WaitCaughtUp(ctx, "order-count"); err != nil {
		log.Fatal(err)
	}
	st, _ := runner.Status("order-count")
	mu.Lock()
	fmt.Println("orders placed:", placed, "state:", st.State)
	mu.Unlock()
	// Output:
	// orders placed: 4 state: live
}

// A SQLite read model whose checkpoint is saved in the same transaction as
// its rows: each event is counted exactly once, whatever crashes. The
// database is opened in WAL mode with a busy timeout: readers then never
// block the projection's writes, and processes that share the file (lease
// holders taking over from one another, a CLI reading the model) wait for
// its lock instead of failing with "database is locked".
func ExampleExactlyOnce() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rewind-example-*")
	defer os.RemoveAll(dir)
	store, err := eventstore.Open(ctx, filepath.Join(dir, "store"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "model.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	var mode string
	var timeout int
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		log.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA busy_timeout`).Scan(&timeout); err != nil {
		log.Fatal(err)
	}
	fmt.Println("journal mode:", mode, "busy timeout:", timeout, "ms")
	if _, err := db.Exec(`CREATE TABLE revenue (day TEXT PRIMARY KEY, cents INTEGER NOT NULL)`); err != nil {
		log.Fatal(err)
	}
	cps, err := checkpoint.NewSQL(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	var last eventstore.AppendResult
	for _, cents := range []string{`{"cents":1250}`, `{"cents":800}`} {
		if last, err = store.Append(ctx, "payments/p1", []eventstore.Event{{Type: "Paid", Data: []byte(cents)}}); err != nil {
			log.Fatal(err)
		}
	}
	revenue := projection.TxHandlerFunc(func(ctx context.Context, tx *sql.Tx, b projection.Batch) error {
		for _, e := range b.Events {
			var p struct{ Cents int }
			if err := jsonUnmarshal(e.Data, &p); err != nil {
				return err
			}
			day := e.StoredAt.UTC().Format("2006-01-02")
			if _, err := tx.ExecContext(ctx, `INSERT INTO revenue (day, cents) VALUES (?, ?)
				ON CONFLICT (day) DO UPDATE SET cents = cents + excluded.cents`, day, p.Cents); err != nil {
				return err
			}
		}
		return nil
	})
	runner := projection.NewRunner(store, nil)
	defer runner.Close()
	if err := runner.Start(ctx, projection.Projection{Name: "revenue", Source: projection.Category("payments"),
		Sink: projection.ExactlyOnce("revenue", db, cps, revenue)}); err != nil {
		log.Fatal(err)
	}
	if err := runner.WaitCaughtUp(ctx, "revenue"); err != nil {
		log.Fatal(err)
	}
	var total int
	if err := db.QueryRow(`SELECT SUM(cents) FROM revenue`).Scan(&total); err != nil {
		log.Fatal(err)
	}
	cp, _ := cps.Load(ctx, "revenue")
	fmt.Println("revenue:", total, "checkpoint at the last payment:", cp.Offset == last.Offset())
	// Output:
	// journal mode: wal busy timeout: 5000 ms
	// revenue: 2050 checkpoint at the last payment: true
}

// A read model as the log was at an offset, built into a target of its
// own: its progress counts the commits up to the bound and ends at 100%,
// though the log goes on after it.
func ExampleReplay() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rewind-example-*")
	defer os.RemoveAll(dir)
	store, err := eventstore.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	var then eventstore.AppendResult
	for i, stream := range []string{"orders/1", "users/1", "orders/2", "orders/3"} {
		res, err := store.Append(ctx, stream, []eventstore.Event{{Type: "Created"}})
		if err != nil {
			log.Fatal(err)
		}
		if i == 2 {
			then = res
		}
	}
	orders := 0
	var last projection.Progress
	err = projection.Replay(ctx, store, projection.Projection{
		Name:    "orders-then",
		Source:  projection.Category("orders"),
		Retries: projection.NoRetries, // a failing event stops the replay at once
		Sink: projection.AtLeastOnce("orders-then", projection.HandlerFunc(func(ctx context.Context, b projection.Batch) error {
			orders += len(b.Events)
			return nil
		}), &checkpoint.Memory{}),
	}, func(p projection.Progress) { last = p }, eventstore.ToOffset(then.Offset()))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("orders then: %d; progress %d of %d commits\n", orders, last.Done, last.Total)
	// Output:
	// orders then: 2; progress 3 of 3 commits
}

// A new version of a read model built from the start while the old one
// keeps serving: Rebuild replays the log into the new target, reporting
// progress, then starts it live on the runner. Switching readers to it
// and stopping the old one is the caller's move.
func ExampleRebuild() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rewind-example-*")
	defer os.RemoveAll(dir)
	store, err := eventstore.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	for _, stream := range []string{"orders/1", "orders/2", "orders/3"} {
		if _, err := store.Append(ctx, stream, []eventstore.Event{{Type: "OrderPlaced"}}); err != nil {
			log.Fatal(err)
		}
	}
	var mu sync.Mutex
	counts := map[string]int{} // each version's read model
	counter := func(version string) projection.Handler {
		return projection.HandlerFunc(func(ctx context.Context, b projection.Batch) error {
			mu.Lock()
			counts[version] += len(b.Events)
			mu.Unlock()
			return nil
		})
	}
	runner := projection.NewRunner(store, nil)
	defer runner.Close()
	cps := &checkpoint.Memory{}
	if err := runner.Start(ctx, projection.Projection{Name: "orders-v1", Source: projection.Category("orders"),
		Sink: projection.AtLeastOnce("orders-v1", counter("v1"), cps)}); err != nil {
		log.Fatal(err)
	}

	var last projection.Progress
	err = projection.Rebuild(ctx, runner, projection.Projection{Name: "orders-v2", Source: projection.Category("orders"),
		Sink: projection.AtLeastOnce("orders-v2", counter("v2"), cps)}, func(p projection.Progress) { last = p })
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("rebuilt: %d events, %d of %d commits\n", last.Events, last.Done, last.Total)

	if _, err := store.Append(ctx, "orders/4", []eventstore.Event{{Type: "OrderPlaced"}}); err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"orders-v1", "orders-v2"} {
		if err := runner.WaitCaughtUp(ctx, name); err != nil {
			log.Fatal(err)
		}
	}
	runner.Stop("orders-v1") // readers now use v2
	mu.Lock()
	fmt.Println("v1:", counts["v1"], "v2:", counts["v2"])
	mu.Unlock()
	// Output:
	// rebuilt: 3 events, 3 of 3 commits
	// v1: 4 v2: 4
}
