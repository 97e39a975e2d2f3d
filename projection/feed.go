package projection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/ctxsleep"
)

// PoisonError is a projection stopped by an event its handler kept
// failing on (policy Stop).
type PoisonError struct {
	Projection string
	Event      eventstore.Event
	Err        error
}

// Error names the projection, the event and the handler's error.
func (e *PoisonError) Error() string {
	return fmt.Sprintf("projection %s: event %s (%s v%d, offset %s) keeps failing: %v",
		e.Projection, e.Event.Type, e.Event.Stream, e.Event.Version, e.Event.Offset, e.Err)
}

// Unwrap returns the handler's last error.
func (e *PoisonError) Unwrap() error { return e.Err }

// errReposition restarts a feed from the sink's saved position: another
// runner moved it.
var errReposition = errors.New("projection: position moved")

func hostID() string {
	h, _ := os.Hostname()
	return h + "-" + strconv.Itoa(os.Getpid())
}

// feed catches pr's projection up from its sink's position and follows the
// log live, until ctx ends or it fails. A position another runner moved
// (checkpoint.ErrConflict) restarts it from the saved one. So does an
// error matching eventstore.ErrUnavailable, the store's or the sink's (a
// cluster without a leader for longer than a call waits: a
// subscription's consumer could not be made again while two of three
// nodes were down, or a checkpoint kept there could not be saved), after a
// pause that grows from unavailableWait to unavailableMaxWait: it is
// transient, and the projection goes on once the cluster is back, with
// the same LiveFrom, rather than fail for good. A *PoisonError is not
// resumed, whatever its handler's error was.
func (r *Runner) feed(ctx context.Context, pr *proc) error {
	wait := unavailableWait
	pr.mu.Lock()
	pr.fedTail = "" // a lease's new term notes its own
	pr.mu.Unlock()
	for {
		began := time.Now()
		err := r.feedOnce(ctx, pr)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errReposition) {
			continue
		}
		var poison *PoisonError
		if !errors.Is(err, eventstore.ErrUnavailable) || errors.As(err, &poison) {
			return err
		}
		if time.Since(began) > unavailableMaxWait {
			wait = unavailableWait
		}
		r.log.Warn("projection: the event store is unavailable; resuming from the saved position",
			"projection", pr.p.Name, "err", err, "in", wait)
		pr.set(func(s *Status) { s.Err = err })
		pr.mu.Lock()
		if pr.fedTail != "" {
			pr.startTail, pr.hasStartTail = pr.fedTail, true
		}
		pr.mu.Unlock()
		if ctxsleep.Sleep(ctx, wait) != nil {
			return nil
		}
		wait = min(2*wait, unavailableMaxWait)
	}
}

// unavailableWait and unavailableMaxWait bound feed's pause before it
// resumes a projection after eventstore.ErrUnavailable.
const (
	unavailableWait    = 250 * time.Millisecond
	unavailableMaxWait = 5 * time.Second
)

func (r *Runner) feedOnce(ctx context.Context, pr *proc) error {
	p := pr.p
	cp, err := p.Sink.Position(ctx)
	if err != nil {
		return fmt.Errorf("projection %s: position: %w", p.Name, err)
	}
	pos, rev := cp.Offset, cp.Revision
	tail, err := pr.tail(ctx, r.store)
	if err != nil {
		return err
	}
	behind, err := r.pending(ctx, p, pos, tail)
	if err != nil {
		return err
	}
	state := StateCatchingUp
	if !behind {
		state = StateLive
	}
	pr.set(func(s *Status) { s.State, s.Position, s.LiveFrom, s.Err = state, pos, tail, nil })

	// A reader goroutine keeps at most one batch ahead (readAhead): a slow
	// sink slows the subscription (it pulls from the log as it goes),
	// never makes it drop or hoard events.
	sctx, stop := context.WithCancel(ctx)
	ahead := newReadAhead(p.BatchSize)
	readerDone := make(chan struct{})
	defer func() {
		stop()
		<-readerDone
	}()
	go func() {
		defer close(readerDone)
		for e, err := range p.Source.read(sctx, r.store, true, eventstore.From(pos)) {
			if err != nil {
				ahead.close(err)
				return
			}
			if !ahead.put(sctx, e) {
				break
			}
		}
		ahead.close(nil)
	}()
	seen := pos // the last event read, wanted or not
	// Events the projection does not take (Types) move its position too.
	// Saving it for each would be a checkpoint write per event of a busy
	// log that the projection ignores: it is saved skipSave after it first
	// moved unsaved, and when the feed ends (Stop, Close).
	skip := skipper{pr: pr, log: r.log}
	defer func() {
		if !errors.Is(context.Cause(ctx), errLeaseLost) {
			skip.flush(context.WithoutCancel(ctx), rev)
		}
	}()
	for {
		select {
		case <-ahead.ready:
		case <-skip.due():
			if rev, err = skip.save(ctx, rev); err != nil {
				return err
			}
			continue
		case <-ctx.Done():
			return nil
		}
		batch, ended, rerr := ahead.take()
		switch {
		case ended && rerr != nil:
			return fmt.Errorf("projection %s: read: %w", p.Name, rerr)
		case ended:
			return ctx.Err()
		case len(batch) == 0:
			continue // a signal for events an earlier take returned
		}
		seen = batch[len(batch)-1].Offset
		var kept []eventstore.Event
		for _, e := range batch {
			if wanted(p, e) {
				kept = append(kept, e)
			}
		}
		// The events stored up to tail are the catch-up's, those after
		// it live: a batch that crosses tail is applied in two parts.
		split := 0
		if state != StateLive {
			split = slices.IndexFunc(kept, func(e eventstore.Event) bool { return e.Offset > tail })
			if split < 0 {
				split = len(kept)
			}
		}
		old, fresh := kept[:split], kept[split:]
		if len(old) > 0 {
			if pos, rev, err = r.applyIfOK(ctx, pr, Batch{Events: old, Replay: true}, pos, rev); err != nil {
				return err
			}
		}
		if state == StateCatchingUp {
			caughtUp := seen >= tail || len(fresh) > 0
			if !caughtUp && ahead.waiting() == 0 {
				// Nothing read yet past tail: is anything of the source
				// left up to it?
				if behind, err = r.pending(ctx, p, seen, tail); err != nil {
					return err
				}
				caughtUp = !behind
			}
			if caughtUp {
				state = StateLive
			}
		}
		pr.set(func(s *Status) { s.State, s.Position = state, pos })
		if len(fresh) > 0 {
			if pos, rev, err = r.applyIfOK(ctx, pr, Batch{Events: fresh}, pos, rev); err != nil {
				return err
			}
			pr.set(func(s *Status) { s.Position = pos })
		}
		if len(old)+len(fresh) > 0 {
			skip.saved(pos)
		}
		if seen > pos { // the batch ended with events the projection does not take
			pos = seen
			skip.moved(pos)
			pr.set(func(s *Status) { s.Position = pos })
		}
	}
}

// skipSave is how long after events the projection does not take first
// moved its position the feed saves it (at most one save per skipSave).
const skipSave = time.Second

// skipper keeps the position that events a projection does not take
// (Projection.Types) moved past its saved one, and saves it with
// Sink.Skip skipSave after it first moved, or when the feed ends.
type skipper struct {
	pr    *proc
	log   *slog.Logger
	to    eventstore.Offset // "" when the saved position is current
	timer *time.Timer
}

// moved notes that the position is now to, not saved. It is saved
// skipSave after the first move not saved, however busy the log stays.
func (k *skipper) moved(to eventstore.Offset) {
	pending := k.to != ""
	k.to = to
	switch {
	case pending:
	case k.timer == nil:
		k.timer = time.NewTimer(skipSave)
	default:
		k.timer.Reset(skipSave)
	}
}

// saved notes that the sink saved the position at or beyond what moved
// noted (a batch applied).
func (k *skipper) saved(pos eventstore.Offset) {
	if k.to != "" && pos >= k.to {
		k.to = ""
	}
}

// due fires when a moved position has waited skipSave (nil: never).
func (k *skipper) due() <-chan time.Time {
	if k.to == "" || k.timer == nil {
		return nil
	}
	return k.timer.C
}

// save saves the moved position and returns the checkpoint's revision. A
// position another runner moved is errReposition; another failure is
// logged and tried again after skipSave (the events are only read again
// if the process stops before then).
func (k *skipper) save(ctx context.Context, rev uint64) (uint64, error) {
	return k.saveOnce(ctx, rev, true)
}

// saveOnce is save; again says whether a failure is tried again.
func (k *skipper) saveOnce(ctx context.Context, rev uint64, again bool) (uint64, error) {
	if k.to == "" {
		return rev, nil
	}
	n, err := k.pr.p.Sink.Skip(ctx, k.to, rev)
	switch {
	case err == nil:
		k.to = ""
		return n, nil
	case errors.Is(err, checkpoint.ErrConflict):
		k.to = ""
		return rev, errReposition
	case ctx.Err() != nil:
		return rev, nil
	}
	if !again {
		k.log.Warn("projection could not save its position past events it does not take; they will be read again",
			"projection", k.pr.p.Name, "offset", k.to, "err", err)
		return rev, nil
	}
	k.log.Warn("projection could not save its position past events it does not take; trying again",
		"projection", k.pr.p.Name, "offset", k.to, "err", err)
	k.timer.Reset(skipSave)
	return rev, nil
}

// flush saves a moved position as the feed ends, within 5 s.
func (k *skipper) flush(ctx context.Context, rev uint64) {
	if k.timer != nil {
		k.timer.Stop()
	}
	if k.to == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, _ = k.saveOnce(ctx, rev, false)
}

// applyIfOK is applyBatch that keeps pos and rev when b fails: what the
// feed saves as it ends is from the last batch that was applied.
func (r *Runner) applyIfOK(ctx context.Context, pr *proc, b Batch, pos eventstore.Offset, rev uint64) (eventstore.Offset, uint64, error) {
	npos, nrev, err := r.applyBatch(ctx, pr, b, rev)
	if err != nil {
		return pos, rev, err
	}
	return npos, nrev, nil
}

// applyBatch applies b and returns the new position and revision.
func (r *Runner) applyBatch(ctx context.Context, pr *proc, b Batch, rev uint64) (eventstore.Offset, uint64, error) {
	o := r.store.Observer()
	ctx, span := o.StartBatch(ctx, pr.p.Name, len(b.Events), b.Replay)
	rev, err := r.apply(ctx, pr, b, rev)
	o.EndBatch(span, pr.p.Name, len(b.Events), err)
	if err != nil {
		return "", 0, err
	}
	return b.Offset(), rev, nil
}

// apply applies b with retries; a batch that keeps failing is tried one
// event at a time, and the event that fails is poison.
func (r *Runner) apply(ctx context.Context, pr *proc, b Batch, rev uint64) (uint64, error) {
	n, err := r.retry(ctx, pr.p, b, rev)
	if err == nil || errors.Is(err, errReposition) || errors.Is(err, eventstore.ErrUnavailable) || ctx.Err() != nil {
		return n, err
	}
	if len(b.Events) == 1 {
		return r.poison(ctx, pr, b.Events[0], rev, err)
	}
	for _, e := range b.Events {
		one := Batch{Events: []eventstore.Event{e}, Replay: b.Replay}
		if rev, err = r.apply(ctx, pr, one, rev); err != nil {
			return 0, err
		}
		// Applied and saved: the Status of a projection that the next
		// event stops says so.
		pr.set(func(s *Status) { s.Position = e.Offset })
	}
	return rev, nil
}

// retry applies b, trying again after failures with a backoff.
func (r *Runner) retry(ctx context.Context, p Projection, b Batch, rev uint64) (uint64, error) {
	backoff := 50 * time.Millisecond
	var err error
	for attempt := 0; attempt <= p.Retries; attempt++ {
		if attempt > 0 {
			r.store.Observer().ProjectionRetry(p.Name)
			if err := ctxsleep.Sleep(ctx, backoff); err != nil {
				return 0, err
			}
			backoff = min(2*backoff, 5*time.Second)
		}
		var n uint64
		n, err = applyRecovered(ctx, p, b, rev)
		if err == nil {
			return n, nil
		}
		if errors.Is(err, checkpoint.ErrConflict) {
			return 0, errReposition
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		// The store (or a checkpoint kept on its cluster) is unavailable:
		// not the batch's fault. feed resumes the projection once the
		// cluster answers, rather than count it against the batch and
		// poison a good event.
		if errors.Is(err, eventstore.ErrUnavailable) {
			return 0, err
		}
		r.log.Warn("projection batch failed", "projection", p.Name, "events", len(b.Events),
			"from", b.Events[0].Offset, "attempt", attempt+1, "err", err)
	}
	return 0, err
}

// applyRecovered is p.Sink.Apply with a panic turned into an error
// wrapping ErrHandlerPanic, which retry and poison then treat as any
// failure of the batch.
func applyRecovered(ctx context.Context, p Projection, b Batch, rev uint64) (n uint64, err error) {
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, fmt.Errorf("%w: %v", ErrHandlerPanic, v)
		}
	}()
	return p.Sink.Apply(ctx, b, rev)
}

// poison handles an event the sink keeps failing on, by the projection's
// policy.
func (r *Runner) poison(ctx context.Context, pr *proc, e eventstore.Event, rev uint64, cause error) (uint64, error) {
	p := pr.p
	perr := &PoisonError{Projection: p.Name, Event: e, Err: cause}
	r.store.Observer().ProjectionPoison(p.Name, p.Poison == DeadLetter)
	if p.Poison != DeadLetter {
		return 0, perr
	}
	var err error
	for _, dl := range deadLetters(e, cause, r.store.MaxAppendBytes()) {
		_, err = r.store.Append(ctx, deadLetterStream(p.Name), []eventstore.Event{dl}, eventstore.WithCommandID(string(e.Offset)))
		if !errors.Is(err, eventstore.ErrTooLarge) {
			break
		}
	}
	if err != nil {
		if errors.Is(err, eventstore.ErrUnavailable) {
			// Resumed (feed), the event comes again and its dead letter is
			// stored then: its command id keeps it once.
			return 0, fmt.Errorf("projection %s: dead letter of %s v%d: %w", p.Name, e.Stream, e.Version, err)
		}
		return 0, fmt.Errorf("%w (and the dead letter was not stored: %v)", perr, err)
	}
	r.log.Error("projection skipped a poison event into its dead letters", "projection", p.Name,
		"stream", e.Stream, "version", e.Version, "offset", e.Offset, "err", cause)
	n, err := p.Sink.Skip(ctx, e.Offset, rev)
	if errors.Is(err, checkpoint.ErrConflict) {
		return 0, errReposition
	}
	return n, err
}

// maxDeadLetterError is the most bytes of a handler's error a dead letter
// keeps (less on a store whose appends are smaller: a quarter of one).
const maxDeadLetterError = 4 << 10

// deadLetters returns the dead letters of poison event e, failed with
// cause, to try in turn until one fits in an append of maxAppend bytes:
// the event with its data and metadata, then, for an event too large for
// that beside the dead letter's own fields, the event without them (it is
// still in the log, where its stream, version and offset find it; the
// dead letter keeps its ID and type, and says what it omits under
// "omitted"). The error is cut to maxDeadLetterError bytes in both.
func deadLetters(e eventstore.Event, cause error, maxAppend int) []eventstore.Event {
	meta := func() map[string]string {
		return map[string]string{"stream": e.Stream, "version": strconv.FormatUint(e.Version, 10),
			"offset": string(e.Offset), "error": cutText(cause.Error(), min(maxDeadLetterError, maxAppend/4))}
	}
	whole := meta()
	for k, v := range e.Metadata {
		whole["event-"+k] = v
	}
	bare := meta()
	bare["omitted"] = "data metadata"
	return []eventstore.Event{
		{ID: e.ID, Type: e.Type, Time: e.Time, Data: e.Data, Metadata: whole},
		{ID: e.ID, Type: e.Type, Time: e.Time, Metadata: bare},
	}
}

// cutText cuts s to at most n bytes, at a character's boundary, saying so
// at its end.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	note := fmt.Sprintf("... (cut: %d bytes in all)", len(s))
	end := max(n-len(note), 0)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + note
}
