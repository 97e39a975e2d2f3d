package readmodel

import (
	"context"
	"errors"
	"fmt"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/projection"
)

// Rebuild rebuilds the read model of projection name from the start (see
// the package doc): it replays the log into the <table>_next tables,
// reporting progress, while the live projection keeps serving; then stops
// the live projection on runner, swaps the tables and moves its checkpoint
// to where the replay ended in one transaction, and starts it again with
// start (which runs it for the application's life, not the rebuild's).
// Rebuilds of one projection must not run at once (projectionhttp runs one
// at a time).
func (d *DB) Rebuild(ctx context.Context, store *eventstore.Store, runner *projection.Runner, name string,
	start func(projection.Projection) error, progress func(projection.Progress)) error {
	var live tables
	switch name {
	case OrderSummary:
		live = summaryTables
	case RevenuePerDay:
		live = revenueTables
	default:
		return fmt.Errorf("%w: %q", ErrUnknownProjection, name)
	}
	next := live.next()
	for _, t := range next.names() {
		if _, err := d.db.ExecContext(ctx, `DROP TABLE IF EXISTS `+t); err != nil {
			return fmt.Errorf("readmodel: rebuild %s: %w", name, err)
		}
	}
	if err := createTables(ctx, d.db, next); err != nil {
		return err
	}
	// The replay's checkpoint lives in a table of its own, emptied first,
	// so every rebuild starts from the log's start.
	table := "rebuild_" + name
	if _, err := d.db.ExecContext(ctx, `DROP TABLE IF EXISTS `+table); err != nil {
		return fmt.Errorf("readmodel: rebuild %s: %w", name, err)
	}
	rcps, err := checkpoint.NewSQL(ctx, d.db, checkpoint.SQLTable(table))
	if err != nil {
		return fmt.Errorf("readmodel: rebuild %s: %w", name, err)
	}
	replayName := name + ".rebuild"
	var p projection.Projection
	if name == OrderSummary {
		p = d.summary(next, replayName, rcps)
	} else {
		p = d.revenue(next, replayName, rcps)
	}
	if err := projection.Replay(ctx, store, p, progress); err != nil {
		return fmt.Errorf("readmodel: rebuild %s: %w", name, err)
	}
	runner.Stop(name)
	if err := d.swap(ctx, name, replayName, live, next, rcps); err != nil {
		// The old tables and checkpoint are untouched: serve them again.
		lp, _ := d.Projection(name)
		return errors.Join(err, start(lp))
	}
	lp, _ := d.Projection(name)
	return start(lp)
}

// swap makes the rebuilt tables the live ones and sets the live checkpoint
// to the replay's position, in one transaction.
func (d *DB) swap(ctx context.Context, name, replayName string, live, next tables, rcps *checkpoint.SQL) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("readmodel: rebuild %s: %w", name, err)
	}
	defer tx.Rollback()
	done, err := rcps.LoadTx(ctx, tx, replayName)
	if err != nil {
		return fmt.Errorf("readmodel: rebuild %s: %w", name, err)
	}
	liveNames, nextNames := live.names(), next.names()
	for i := range liveNames {
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+liveNames[i]); err != nil {
			return fmt.Errorf("readmodel: rebuild %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+nextNames[i]+` RENAME TO `+liveNames[i]); err != nil {
			return fmt.Errorf("readmodel: rebuild %s: %w", name, err)
		}
	}
	cur, err := d.cps.LoadTx(ctx, tx, name)
	if err != nil {
		return fmt.Errorf("readmodel: rebuild %s: %w", name, err)
	}
	if _, err := d.cps.SaveTx(ctx, tx, name, done.Offset, cur.Revision); err != nil {
		return fmt.Errorf("readmodel: rebuild %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("readmodel: rebuild %s: %w", name, err)
	}
	return nil
}
