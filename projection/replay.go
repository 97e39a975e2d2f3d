package projection

import (
	"context"
	"fmt"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// Progress reports a replay's advance.
type Progress struct {
	// Events is how many events have been applied so far.
	Events uint64
	// Position is the offset of the last event read.
	Position eventstore.Offset
	// Done and Total count log sequences (commits) from the start of the
	// replay: how far it is through the part of the log it covers.
	Done, Total uint64
	// Rate is events applied per second so far.
	Rate float64
	// Remaining estimates the time left, from the rate so far.
	Remaining time.Duration
}

// Replay feeds p's sink from its saved position up to a bound (ToTime or
// ToOffset; none: the log's end when the replay began) and returns, never
// going live; every batch is marked Replay. It is how a read model is
// built as of a point in time ("what did the dashboard say yesterday at
// 3pm?"): give p a sink of its own (its own checkpoint name and tables),
// and the live projection's checkpoint is never touched. progress, if not
// nil, is called after every batch.
func Replay(ctx context.Context, store *eventstore.Store, p Projection, progress func(Progress), bounds ...eventstore.ReadOption) error {
	p, err := p.withDefaults()
	if err != nil {
		return err
	}
	r := NewRunner(store, nil)
	pr := &proc{p: p, changed: make(chan struct{})}
	cp, err := p.Sink.Position(ctx)
	if err != nil {
		return fmt.Errorf("projection %s: position: %w", p.Name, err)
	}
	rev := cp.Revision
	tail, err := store.Tail(ctx)
	if err != nil {
		return err
	}
	if len(bounds) == 0 {
		bounds = []eventstore.ReadOption{eventstore.ToOffset(tail)}
	}
	start, total := offsetSeq(cp.Offset), offsetSeq(tail)
	began := time.Now()
	var pg Progress
	var batch []eventstore.Event
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if rev, err = r.apply(ctx, pr, Batch{Events: batch, Replay: true}, rev); err != nil {
			return err
		}
		pg.Events += uint64(len(batch))
		batch = batch[:0]
		if progress != nil {
			pg.Done, pg.Total = offsetSeq(pg.Position)-min(start, offsetSeq(pg.Position)), total-min(start, total)
			pg.Rate = float64(pg.Events) / time.Since(began).Seconds()
			if pg.Done > 0 && pg.Total > pg.Done {
				pg.Remaining = time.Duration(float64(time.Since(began)) * float64(pg.Total-pg.Done) / float64(pg.Done))
			} else {
				pg.Remaining = 0
			}
			progress(pg)
		}
		return nil
	}
	read := append([]eventstore.ReadOption{eventstore.From(cp.Offset)}, bounds...)
	for e, err := range p.Source.read(ctx, store, false, read...) {
		if err != nil {
			return fmt.Errorf("projection %s: read: %w", p.Name, err)
		}
		pg.Position = e.Offset
		if !wanted(p, e) {
			continue
		}
		if batch = append(batch, e); len(batch) >= p.BatchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// Rebuild builds a new version of a read model from the start while the
// old one keeps serving: p's sink must be the new target, with a
// checkpoint name of its own (at Start). It replays the log up to now,
// reporting progress (handlers see Replay batches, so side effects stay
// quiet), then starts p live on runner, from where the replay ended, and
// returns. Switching readers to the new target and stopping the old
// projection is then the caller's move.
func Rebuild(ctx context.Context, runner *Runner, p Projection, progress func(Progress)) error {
	if err := Replay(ctx, runner.store, p, progress); err != nil {
		return err
	}
	return runner.Start(ctx, p)
}
