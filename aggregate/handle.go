package aggregate

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/ctxsleep"
)

// HandleOption configures one Handle. A nil HandleOption is ignored.
type HandleOption func(*handleConfig)

type handleConfig struct {
	command     string
	fingerprint string // base64 of a SHA-256, "" if none
	producer    *producerID
	err         error // the first invalid option
}

type producerID struct {
	id         string
	epoch, seq uint64
}

// CommandID makes the command exactly-once on its instance, for the life
// of the stream: handling a command with the same id again (a retry after
// a timeout, a redelivery, two deliveries at once in two processes) runs
// no decider and appends nothing, and returns the first handling's
// outcome: its Result (Duplicate set) when it appended events or decided
// nothing, its refusal (a *RefusedError) when the decider refused it. The
// id (1 to eventstore.MaxCommandIDLen bytes; an empty id is an error
// wrapping ErrInvalidCommand, never "no id") is recorded in the commit of
// the command's events, or in a commit of its own without events (see the
// package documentation).
func CommandID(id string) HandleOption {
	return func(c *handleConfig) {
		switch {
		case id == "":
			c.fail(fmt.Errorf("%w: empty command id", ErrInvalidCommand))
		case len(id) > eventstore.MaxCommandIDLen:
			c.fail(fmt.Errorf("%w: command id of %d bytes, at most %d", ErrInvalidCommand, len(id), eventstore.MaxCommandIDLen))
		}
		c.command = id
	}
}

// Fingerprint identifies the command's content (for example its type and
// encoded body), so that a command id used again by a different command is
// told from a retry: a SHA-256 of content is recorded with the command id,
// and a later Handle with the id and another fingerprint fails with a
// *ReusedIDError (ErrCommandIDReused) without deciding anything. A retry
// must give the same content; a retry without a fingerprint matches the
// id whatever it was recorded with. Without a CommandID (or Producer) it
// does nothing; an id recorded without a fingerprint matches any. Empty
// content is an error wrapping ErrInvalidCommand: every command has some,
// and an empty fingerprint is a caller's encoding gone wrong, which would
// make every such command look like a retry of the first.
func Fingerprint(content []byte) HandleOption {
	if len(content) == 0 {
		return func(c *handleConfig) { c.fail(fmt.Errorf("%w: empty fingerprint", ErrInvalidCommand)) }
	}
	sum := sha256.Sum256(content)
	fp := base64.RawStdEncoding.EncodeToString(sum[:])
	return func(c *handleConfig) { c.fingerprint = fp }
}

// Producer makes the command the producer's sequence number seq at epoch:
// the store's producer rules apply (a stale epoch or a gap is refused) and
// a sequence number handled before returns its original outcome, as a
// CommandID does. An id the store cannot take (eventstore.CheckProducerID:
// 1 to 256 bytes without control characters) is an error wrapping
// ErrInvalidCommand and the store's *eventstore.ProducerError, before the
// decider runs.
func Producer(id string, epoch, seq uint64) HandleOption {
	return func(c *handleConfig) {
		if err := eventstore.CheckProducerID(id); err != nil {
			c.fail(fmt.Errorf("%w: %w", ErrInvalidCommand, err))
		}
		c.producer = &producerID{id: id, epoch: epoch, seq: seq}
	}
}

func (c *handleConfig) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// record is what a command id's commit records besides the id (as
// eventstore.WithCommandData, JSON): the command's fingerprint and, for a
// commit without events, whether the decider refused it, with the
// refusal's registered name and message. A commit of events recorded
// without a fingerprint records nothing.
type record struct {
	Fingerprint string `json:"f,omitempty"`
	Refused     bool   `json:"r,omitempty"`
	Code        string `json:"c,omitempty"`
	Message     string `json:"m,omitempty"`
}

// maxRefusalMessage bounds the refusal message recorded, in bytes.
const maxRefusalMessage = 2048

func (rec record) encode() []byte {
	if rec == (record{}) {
		return nil
	}
	b, _ := json.Marshal(rec) // strings only: it cannot fail
	return b
}

// refusalRecord is the record of a decider's refusal err.
func (r *Repository[S, E]) refusalRecord(fp string, err error) record {
	msg := err.Error()
	if len(msg) > maxRefusalMessage {
		cut := maxRefusalMessage
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut]
	}
	return record{Fingerprint: fp, Refused: true, Code: r.def.errorName(err), Message: msg}
}

// Handle runs a command on instance id: it loads the state (from the cache
// when it holds the instance), asks decide for the events, and appends
// them on condition that the stream is still as it was decided on (its
// version and its last event). On a concurrency conflict it reloads and
// decides again, up to the repository's attempts (default 3) with a
// jittered pause between them, then fails with an error wrapping
// ErrTooManyConflicts and the last conflict. A decider's error is returned
// as it is, and nothing is appended; a decider that returns no events
// appends nothing. With a CommandID (or Producer), the id is looked up
// before the decider runs, and the outcome (events, nothing, or a refusal)
// is recorded with it. decide gets a copy of the state: it cannot change
// the cached one; a state that cannot be copied (see WithClone) fails the
// command with ErrStateCopy before decide runs. A nil decider is an error wrapping ErrInvalidCommand; a
// decider that panics is an error wrapping ErrDeciderPanic (the panic does
// not escape, and nothing is recorded). An apply function that panics on
// the events decided is an *EventError matching ErrApplyPanic, returned
// with the Result of the append, since the events are stored.
func (r *Repository[S, E]) Handle(ctx context.Context, id string, decide func(S) ([]E, error), opts ...HandleOption) (Result[E], error) {
	if o := r.store.Observer(); o != nil && decide != nil {
		return r.observedHandle(ctx, o, id, decide, opts)
	}
	return r.handle(ctx, id, decide, opts...)
}

// handle is Handle, unobserved.
func (r *Repository[S, E]) handle(ctx context.Context, id string, decide func(S) ([]E, error), opts ...HandleOption) (Result[E], error) {
	stream, err := r.def.Stream(id)
	if err != nil {
		return Result[E]{}, err
	}
	var hc handleConfig
	for _, o := range opts {
		if o != nil {
			o(&hc)
		}
	}
	if decide == nil {
		hc.fail(fmt.Errorf("%w: nil decider", ErrInvalidCommand))
	}
	if hc.err != nil {
		return Result[E]{}, fmt.Errorf("aggregate: handle %q: %w", stream, hc.err)
	}
	// The options every attempt's append carries (at most two), then that
	// attempt's checks: in an array, so that the append allocates no slice.
	var optBuf [5]eventstore.AppendOption
	base := optBuf[:0]
	command := hc.command
	if p := hc.producer; p != nil {
		base = append(base, eventstore.WithProducer(p.id, p.epoch, p.seq))
		if command == "" {
			// The producer rules alone say "duplicate"; the command id
			// recorded with the commit gives back the original outcome.
			command = "producer:" + p.id + ":" + strconv.FormatUint(p.epoch, 10) + ":" + strconv.FormatUint(p.seq, 10)
		}
	}
	if command != "" {
		base = append(base, eventstore.WithCommandID(command))
		// Checked before the decider runs: a redelivered command gets its
		// outcome, not a new decision (nor a second run of the decider).
		prev, found, err := r.store.CommandOutcome(ctx, stream, command)
		if err != nil {
			return Result[E]{}, fmt.Errorf("aggregate: handle %q: %w", stream, err)
		}
		if found {
			return r.original(ctx, stream, command, hc.fingerprint, prev)
		}
	}
	var lastConflict error
	for attempt := 0; attempt < r.cfg.attempts; attempt++ {
		if attempt > 0 {
			if err := r.pause(ctx, attempt); err != nil {
				return Result[E]{}, err
			}
		}
		cur, cached, err := r.current(ctx, id, attempt == 0)
		if err != nil {
			return Result[E]{}, err
		}
		mine, err := r.clone(cur.State)
		if err != nil {
			// No copy: the decider would get the state itself, and could
			// change the cached one. A cached state may be stale: try
			// the stream as it is (a fresh load with no copy is not cached).
			r.cache.drop(id)
			if cached {
				attempt--
				continue
			}
			return Result[E]{}, fmt.Errorf("aggregate: handle %q: %w", stream, err)
		}
		events, refusal := r.decide(decide, mine)
		if errors.Is(refusal, ErrDeciderPanic) {
			return Result[E]{}, fmt.Errorf("aggregate: handle %q: %w", stream, refusal)
		}
		if command == "" && (refusal != nil || len(events) == 0) {
			if cached {
				// A refusal (or nothing to do) has no version check to
				// correct a stale cached state: decide again on the
				// stream as it is.
				r.cache.drop(id)
				attempt--
				continue
			}
			if refusal != nil {
				return Result[E]{}, refusal
			}
			return Result[E]{Version: cur.Version}, nil // nothing appended, nothing recorded
		}
		rec := record{Fingerprint: hc.fingerprint}
		var stored []eventstore.Event
		if refusal != nil {
			rec, events = r.refusalRecord(hc.fingerprint, refusal), nil
		} else if len(events) > 0 {
			if stored, err = r.def.Encode(events); err != nil {
				return Result[E]{}, fmt.Errorf("aggregate: handle %q: %w", stream, err)
			}
		}
		appendOpts := append(base, eventstore.ExpectVersion(cur.Version), eventstore.ExpectLast(cur.Offset))
		if data := rec.encode(); data != nil {
			appendOpts = append(appendOpts, eventstore.WithCommandData(data))
		}
		res, err := r.store.Append(ctx, stream, stored, appendOpts...)
		if errors.Is(err, eventstore.ErrConcurrency) {
			lastConflict = err
			r.cache.drop(id)
			if cached {
				// The cached state was stale: reload, without counting it
				// as a lost race (the entry is gone, so this happens once).
				attempt--
			}
			continue
		}
		if errors.Is(err, eventstore.ErrStreamClosed) && len(stored) == 0 {
			// A closed stream takes no record, and never changes again:
			// the same decision stands whenever the id comes back.
			if refusal != nil {
				return Result[E]{}, refusal
			}
			return Result[E]{Version: cur.Version}, nil
		}
		if err != nil {
			return Result[E]{}, fmt.Errorf("aggregate: handle %q: %w", stream, err)
		}
		if res.Duplicate {
			// Handled meanwhile, here or in another process.
			r.cache.drop(id)
			return r.original(ctx, stream, command, hc.fingerprint, res)
		}
		if refusal != nil {
			return Result[E]{}, refusal // recorded: the decider's own error, this time
		}
		if len(events) == 0 {
			return Result[E]{Version: cur.Version, StoredAt: res.StoredAt}, nil
		}
		result := Result[E]{FirstVersion: res.FirstVersion, Version: res.Version, Offsets: res.Offsets, Events: events,
			StoredAt: res.StoredAt}
		state, err := r.clone(cur.State)
		if err != nil {
			// The events are stored; only the state after them has no
			// copy to evolve, so it is not cached: the next load folds it.
			r.cache.drop(id)
			return result, nil
		}
		state, err = r.evolve(state, events, stream, res.FirstVersion)
		if err != nil {
			r.cache.drop(id)
			return result, fmt.Errorf("aggregate: handle %q: the events are stored, the state after them is not: %w", stream, err)
		}
		next := Loaded[S]{State: state, Version: res.Version, At: res.StoredAt, Offset: res.Offset()}
		r.cache.put(id, next)
		r.maybeSnapshot(stream, cur.Version, next)
		return result, nil
	}
	return Result[E]{}, fmt.Errorf("aggregate: handle %q: %w after %d attempts: %w", stream, ErrTooManyConflicts, r.cfg.attempts, lastConflict)
}

// evolve applies the events a command just stored, the first at version
// first, to state; an apply function's panic is an error (ErrApplyPanic).
func (r *Repository[S, E]) evolve(state S, events []E, stream string, first uint64) (S, error) {
	for i, e := range events {
		et := r.def.byType[reflect.TypeOf(e)]
		if et == nil {
			continue // Encode refused such an event before it was stored
		}
		var err error
		if state, err = applyEvent(et, state, e, stream, first+uint64(i)); err != nil {
			return state, err
		}
	}
	return state, nil
}

// decide runs the decider on state (a copy, the caller's to give away),
// turning a panic into an error wrapping ErrDeciderPanic.
func (r *Repository[S, E]) decide(decide func(S) ([]E, error), state S) (events []E, err error) {
	defer func() {
		if p := recover(); p != nil {
			events, err = nil, fmt.Errorf("%w: %v", ErrDeciderPanic, p)
		}
	}()
	return decide(state)
}

// current returns the state a command decides on: the cached one if
// allowed and present, else a fresh load (which is then cached).
func (r *Repository[S, E]) current(ctx context.Context, id string, useCache bool) (Loaded[S], bool, error) {
	if useCache {
		l, ok := r.cache.get(id)
		if r.cache != nil {
			r.store.Observer().CacheLookup(r.def.Category(), ok)
		}
		if ok {
			return l, true, nil
		}
	}
	l, err := r.Load(ctx, id)
	if err != nil {
		return Loaded[S]{}, false, err
	}
	if r.cache != nil { // the copy is only worth making for a cache
		// A state with no copy is not cached: the decider's copy of it
		// fails too, and the command with it (ErrStateCopy).
		if state, err := r.clone(l.State); err == nil {
			c := l
			c.State = state
			r.cache.put(id, c)
		}
	}
	return l, false, nil
}

// pause waits before attempt (1-based retries): a jittered 1–2× of a
// backoff doubling from 2 ms.
func (r *Repository[S, E]) pause(ctx context.Context, attempt int) error {
	span := r.store.Observer().StartRetry(ctx, r.def.Category(), attempt+1)
	defer r.store.Observer().EndRetry(span, nil)
	d := r.cfg.backoff << min(attempt-1, 6)
	d += time.Duration(rand.Int64N(int64(d) + 1))
	return ctxsleep.Sleep(ctx, d)
}

// original returns the outcome of a command handled before, from what
// the store recorded for its id: its refusal, or the events of its commit
// (none when it decided nothing). A command whose fingerprint is not the
// recorded one is refused as a reuse of the id.
func (r *Repository[S, E]) original(ctx context.Context, stream, command, fingerprint string, res eventstore.AppendResult) (Result[E], error) {
	var rec record
	if len(res.CommandData) > 0 {
		if err := json.Unmarshal(res.CommandData, &rec); err != nil {
			return Result[E]{}, fmt.Errorf("aggregate: handle %q: the record of command %q: %w", stream, command, err)
		}
	}
	if fingerprint != "" && rec.Fingerprint != "" && fingerprint != rec.Fingerprint {
		return Result[E]{}, &ReusedIDError{Stream: stream, CommandID: command}
	}
	if rec.Refused {
		return Result[E]{}, &RefusedError{Stream: stream, CommandID: command, Code: rec.Code, Message: rec.Message,
			Err: r.def.namedErr(rec.Code)}
	}
	out := Result[E]{Version: res.Version, Offsets: res.Offsets, Duplicate: true, StoredAt: res.StoredAt}
	if len(res.Offsets) == 0 {
		return out, nil // nothing decided, or a producer duplicate without a recorded command
	}
	out.FirstVersion = res.FirstVersion
	for e, err := range r.store.Read(ctx, stream, eventstore.FromVersion(res.FirstVersion), eventstore.ToVersion(res.Version)) {
		if err != nil {
			return Result[E]{}, fmt.Errorf("aggregate: handle %q: the original outcome: %w", stream, err)
		}
		ev, err := r.def.Decode(e)
		if err != nil {
			return Result[E]{}, fmt.Errorf("aggregate: handle %q: the original outcome: %w", stream, err)
		}
		out.Events = append(out.Events, ev)
	}
	return out, nil
}
