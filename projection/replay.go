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
// nil, is called after every batch, and once more when the replay has
// read everything up to its bound (then Done equals Total). A sink whose
// saved position is already at or past the bound has nothing of its
// source left to replay: Replay applies nothing, calls progress once
// (Done equal to Total) and returns nil. Failures are logged to
// slog.Default(); Rebuild logs to its runner's logger.
//
// bounds are upper bounds only: a replay starts at its sink's saved
// position, which is what makes a replay resumable, so a From or
// FromVersion among them is refused with an error wrapping
// eventstore.ErrInvalidOption (to replay from an offset, give p a sink
// whose checkpoint is saved there). ToVersion, which reads in log order
// do not take, and the zero time are refused as well.
func Replay(ctx context.Context, store *eventstore.Store, p Projection, progress func(Progress), bounds ...eventstore.ReadOption) error {
	p, err := p.withDefaults()
	if err != nil {
		return err
	}
	if err := eventstore.CheckUpperBounds(bounds...); err != nil {
		return fmt.Errorf("projection %s: replay bound: %w", p.Name, err)
	}
	if err := checkStore(store, p.Name); err != nil {
		return err
	}
	return NewRunner(store, nil).replay(ctx, p, progress, bounds)
}

func (r *Runner) replay(ctx context.Context, p Projection, progress func(Progress), bounds []eventstore.ReadOption) error {
	store := r.store
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
	end := max(tail, cp.Offset)
	if len(bounds) == 0 {
		bounds = []eventstore.ReadOption{eventstore.ToOffset(tail)}
	} else if end, err = lastWithin(ctx, store, cp.Offset, tail, bounds); err != nil {
		return fmt.Errorf("projection %s: replay bound: %w", p.Name, err)
	}
	start := offsetSeq(cp.Offset)
	began := time.Now()
	pg := Progress{Total: offsetSeq(end) - min(start, offsetSeq(end))}
	report := func() {
		if progress == nil {
			return
		}
		pg.Done = min(offsetSeq(pg.Position)-min(start, offsetSeq(pg.Position)), pg.Total)
		elapsed := time.Since(began)
		pg.Rate = float64(pg.Events) / elapsed.Seconds()
		pg.Remaining = 0
		if pg.Done > 0 && pg.Total > pg.Done {
			pg.Remaining = time.Duration(float64(elapsed) * float64(pg.Total-pg.Done) / float64(pg.Done))
		}
		progress(pg)
	}
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
		report()
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
	if err := flush(); err != nil {
		return err
	}
	// Read up to the bound: done, whether or not the source's last event
	// lies on it.
	pg.Position = max(pg.Position, end)
	report()
	return nil
}

// lastWithin returns the offset of the log's last commit after from that
// a read bounded by bounds delivers (from if none): the end of a replay,
// found with a binary search over the log's sequences between from and
// tail, each probe reading one commit (the bounds are the caller's read
// options, which only a read can apply). Log reads bounded by ToTime end
// at the first commit stored after the bound, so the commits a bounded
// read delivers are a prefix of the log.
func lastWithin(ctx context.Context, s *eventstore.Store, from, tail eventstore.Offset, bounds []eventstore.ReadOption) (eventstore.Offset, error) {
	// first returns the first event a bounded read from after commit seq
	// delivers ("" if none).
	first := func(seq uint64) (eventstore.Offset, error) {
		opts := append([]eventstore.ReadOption{eventstore.From(seqOffset(seq))}, bounds...)
		for e, err := range s.ReadAll(ctx, opts...) {
			if err != nil {
				return "", err
			}
			return e.Offset, nil
		}
		return "", nil
	}
	end := from
	lo, hi := offsetSeq(from), offsetSeq(tail) // some event after lo is in bounds unless end stays from
	for lo < hi {
		mid := lo + (hi-lo)/2
		o, err := first(mid)
		if err != nil {
			return "", err
		}
		if o == "" {
			hi = mid
			continue
		}
		end = o
		lo = offsetSeq(o)
	}
	return commitOffset(end), nil
}

// Rebuild builds a new version of a read model from the start while the
// old one keeps serving: p's sink must be the new target, with a
// checkpoint name of its own (at Start), and no projection named p.Name
// may run on runner (checked before anything is replayed). It replays the
// log up to now, reporting progress (handlers see Replay batches, so side
// effects stay quiet; failures are logged to the runner's logger), then
// starts p live on runner, from where the replay ended, and returns. ctx
// bounds the replay only: the projection started runs until runner.Stop
// or runner.Close. Switching readers to the new target and stopping the
// old projection is then the caller's move.
func Rebuild(ctx context.Context, runner *Runner, p Projection, progress func(Progress)) error {
	dp, err := p.withDefaults()
	if err != nil {
		return err
	}
	if runner.running(p.Name) {
		return fmt.Errorf("projection %s: %w: already running", p.Name, eventstore.ErrInvalidOption)
	}
	if err := checkStore(runner.store, p.Name); err != nil {
		return err
	}
	if runner.isClosed() {
		return fmt.Errorf("%w: %s not started", ErrClosed, p.Name)
	}
	if err := runner.replay(ctx, dp, progress, nil); err != nil {
		return err
	}
	return runner.Start(context.WithoutCancel(ctx), p) // p as given: Start fills in the defaults
}
