package projection

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
)

// Batch is a run of consecutive events of a projection's source, in log
// order.
type Batch struct {
	// Events are the batch's events (never empty).
	Events []eventstore.Event
	// Replay reports events from before the projection went live: a
	// catch-up (the events stored up to Status.LiveFrom, the log's tail
	// when the projection started feeding), a rebuild or a replay as of a
	// point in time. Every event stored after LiveFrom comes with Replay
	// false. Side effects (emails, webhooks) should fire only for batches
	// with Replay false.
	Replay bool
}

// Offset returns the offset of the batch's last event: the position to
// resume after.
func (b Batch) Offset() eventstore.Offset { return b.Events[len(b.Events)-1].Offset }

// Handler applies events to a read model.
type Handler interface {
	Handle(ctx context.Context, b Batch) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, b Batch) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, b Batch) error { return f(ctx, b) }

// TxHandler applies events to a read model inside a SQL transaction, the
// one in which the checkpoint is saved.
type TxHandler interface {
	HandleTx(ctx context.Context, tx *sql.Tx, b Batch) error
}

// TxHandlerFunc adapts a function to TxHandler.
type TxHandlerFunc func(ctx context.Context, tx *sql.Tx, b Batch) error

// HandleTx calls f.
func (f TxHandlerFunc) HandleTx(ctx context.Context, tx *sql.Tx, b Batch) error { return f(ctx, tx, b) }

// Sink is where a projection's events go, with the position they reached.
// Apply applies a batch and records its offset as the new position if the
// position's revision is still rev, returning the new revision; a revision
// that moved is checkpoint.ErrConflict (another runner advanced it). Skip
// moves the position to offset without applying anything: past a poison
// event sent to the dead letters, or past events of types the projection
// does not take (Projection.Types), a second after the feed last moved
// past one or when it stops. It is a save of the position, not a signal
// of a failure.
type Sink interface {
	Position(ctx context.Context) (checkpoint.Checkpoint, error)
	Apply(ctx context.Context, b Batch, rev uint64) (uint64, error)
	Skip(ctx context.Context, offset eventstore.Offset, rev uint64) (uint64, error)
}

// namedSink is a sink that keeps its checkpoint under a name of its own,
// which must be its projection's (the sinks of this package), and that
// says what it was made without (check), so that Start refuses it rather
// than the projection's goroutine meet a nil.
type namedSink interface {
	checkpointName() string
	check() error
}

// AtLeastOnce is a Sink that hands batches to h and then saves the
// position in cps under name, which must be the projection's Name. After a crash between the two, the batch is
// handed to h again: h sees every event at least once, and can tell a
// repeat by its offset (Event.Offset; the batches' offsets only grow).
// Start, Replay and Rebuild refuse one made with a nil h or cps
// (eventstore.ErrInvalidOption).
func AtLeastOnce(name string, h Handler, cps checkpoint.Store) Sink {
	return &atLeastOnce{name: name, h: h, cps: cps}
}

type atLeastOnce struct {
	name string
	h    Handler
	cps  checkpoint.Store
}

func (s *atLeastOnce) checkpointName() string { return s.name }

func (s *atLeastOnce) check() error {
	if s.h == nil || s.cps == nil {
		return errors.New("AtLeastOnce needs a handler and a checkpoint store")
	}
	return nil
}

func (s *atLeastOnce) Position(ctx context.Context) (checkpoint.Checkpoint, error) {
	return s.cps.Load(ctx, s.name)
}

func (s *atLeastOnce) Skip(ctx context.Context, offset eventstore.Offset, rev uint64) (uint64, error) {
	return s.cps.Save(ctx, s.name, offset, rev)
}

func (s *atLeastOnce) Apply(ctx context.Context, b Batch, rev uint64) (uint64, error) {
	if err := s.h.Handle(ctx, b); err != nil {
		return 0, err
	}
	return s.cps.Save(ctx, s.name, b.Offset(), rev)
}

// ExactlyOnce is a Sink on a SQL database: each batch is applied by h and
// its position saved under name (the projection's Name) in cps, in one
// transaction. Either both commit or neither does, so after any crash the
// read model reflects every event up to its saved position exactly once.
// Start, Replay and Rebuild refuse one made with a nil db, cps or h
// (eventstore.ErrInvalidOption).
func ExactlyOnce(name string, db *sql.DB, cps *checkpoint.SQL, h TxHandler) Sink {
	return &exactlyOnce{name: name, db: db, cps: cps, h: h}
}

type exactlyOnce struct {
	name string
	db   *sql.DB
	cps  *checkpoint.SQL
	h    TxHandler
}

func (s *exactlyOnce) checkpointName() string { return s.name }

func (s *exactlyOnce) check() error {
	if s.db == nil || s.cps == nil || s.h == nil {
		return errors.New("ExactlyOnce needs a database, a checkpoint.SQL and a handler")
	}
	return nil
}

func (s *exactlyOnce) Position(ctx context.Context) (checkpoint.Checkpoint, error) {
	return s.cps.Load(ctx, s.name)
}

func (s *exactlyOnce) Skip(ctx context.Context, offset eventstore.Offset, rev uint64) (uint64, error) {
	return s.cps.Save(ctx, s.name, offset, rev)
}

func (s *exactlyOnce) Apply(ctx context.Context, b Batch, rev uint64) (uint64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("projection %s: begin: %w", s.name, err)
	}
	// A handler that panics leaves the transaction to this rollback (the
	// runner recovers the panic): held open, it would keep the database
	// locked. After a commit or a rollback below it does nothing.
	defer tx.Rollback()
	if err := s.h.HandleTx(ctx, tx, b); err != nil {
		return 0, errors.Join(err, tx.Rollback())
	}
	n, err := s.cps.SaveTx(ctx, tx, s.name, b.Offset(), rev)
	if err != nil {
		return 0, errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("projection %s: commit: %w", s.name, err)
	}
	return n, nil
}
