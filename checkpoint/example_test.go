package checkpoint_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
)

// A checkpoint saved in the read model's own transaction: the row and the
// position it reflects commit together. A save at a revision that moved
// (another runner saved since) is ErrConflict, and the caller rolls back.
func ExampleSQL_SaveTx() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "rewind-example-*")
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "model.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE orders (id TEXT PRIMARY KEY)`); err != nil {
		log.Fatal(err)
	}
	cps, err := checkpoint.NewSQL(ctx, db)
	if err != nil {
		log.Fatal(err)
	}

	// What a projection's offsets look like: read them from the store
	// (eventstore.Event.Offset); here, one made for the example.
	offset := eventstore.Offset("00000000000000000001_999999")
	cp, err := cps.Load(ctx, "orders")
	if err != nil {
		log.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders VALUES ('ord-1')`); err != nil {
		log.Fatal(err)
	}
	rev, err := cps.SaveTx(ctx, tx, "orders", offset, cp.Revision)
	if err != nil {
		tx.Rollback()
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("saved at revision", rev)

	// A runner that still holds the old revision cannot move it.
	_, err = cps.Save(ctx, "orders", offset, cp.Revision)
	fmt.Println("stale save:", errors.Is(err, checkpoint.ErrConflict))
	cp, _ = cps.Load(ctx, "orders")
	fmt.Println("position:", cp.Offset, "revision", cp.Revision)
	// Output:
	// saved at revision 1
	// stale save: true
	// position: 00000000000000000001_999999 revision 1
}

// A lease keeps one holder per name; a refused Acquire says who holds it
// and until when, so a standby can try again the moment it lapses.
func ExampleMemory_Acquire() {
	ctx := context.Background()
	var leases checkpoint.Memory
	if _, err := leases.Acquire(ctx, "revenue", "host-a", 3*time.Second); err != nil {
		log.Fatal(err)
	}
	_, err := leases.Acquire(ctx, "revenue", "host-b", 3*time.Second)
	var held *checkpoint.LeaseHeldError
	if errors.As(err, &held) {
		fmt.Println("held by", held.Holder, "for about", time.Until(held.Expires).Round(time.Second))
	}
	fmt.Println("conflict:", errors.Is(err, checkpoint.ErrConflict))
	// Output:
	// held by host-a for about 3s
	// conflict: true
}
