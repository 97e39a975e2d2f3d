package aggregate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// Loaded is an instance's state as of a version.
type Loaded[S any] struct {
	// State is the state after every event up to Version.
	State S
	// Version is the stream's version the state includes (0: no events).
	Version uint64
	// At is the store time of the event at Version (zero when none).
	At time.Time
}

// Result is the outcome of a command handled by Handle.
type Result[E any] struct {
	// Version is the stream's version after the command (its version
	// before, when the decider returned no events).
	Version uint64
	// Offsets are the offsets of the events appended, in order.
	Offsets []eventstore.Offset
	// Events are the events the command appended.
	Events []E
	// Duplicate reports that the command had been handled before (by its
	// command id or producer sequence): nothing was appended now, and the
	// result is the original one.
	Duplicate bool
	// StoredAt is the store time of the command's events.
	StoredAt time.Time
}

// Repository loads and changes the instances of one aggregate type on a
// store. It is safe for concurrent use. Close it to stop the goroutine
// that writes snapshots.
type Repository[S, E any] struct {
	store *eventstore.Store
	def   *Definition[S, E]
	cfg   repoConfig[S]
	cache *stateCache[S]
	log   *slog.Logger

	snaps     chan snapJob[S]
	wg        sync.WaitGroup
	closeOnce sync.Once
	mu        sync.RWMutex // held for reading while sending to snaps
	closed    bool
}

type repoConfig[S any] struct {
	attempts  int
	backoff   time.Duration
	snapshot  func(prev, next uint64) bool // nil: no snapshots
	cacheSize int
	clone     func(S) S
	log       *slog.Logger
}

// Option configures a Repository.
type Option[S any] func(*repoConfig[S]) error

// WithMaxAttempts sets how many times Handle decides and appends before it
// gives up on concurrency conflicts (default 3).
func WithMaxAttempts[S any](n int) Option[S] {
	return func(c *repoConfig[S]) error {
		if n < 1 {
			return fmt.Errorf("%w: %d attempts", eventstore.ErrInvalidOption, n)
		}
		c.attempts = n
		return nil
	}
}

// WithSnapshotEvery takes a snapshot whenever a command takes the stream
// past a multiple of n events (default 100); 0 takes none.
func WithSnapshotEvery[S any](n uint64) Option[S] {
	return func(c *repoConfig[S]) error {
		if n == 0 {
			c.snapshot = nil
			return nil
		}
		c.snapshot = func(prev, next uint64) bool { return prev/n != next/n }
		return nil
	}
}

// WithSnapshotWhen takes a snapshot after a command that took the stream
// from version prev to next when fn says so.
func WithSnapshotWhen[S any](fn func(prev, next uint64) bool) Option[S] {
	return func(c *repoConfig[S]) error {
		if fn == nil {
			return fmt.Errorf("%w: nil snapshot policy", eventstore.ErrInvalidOption)
		}
		c.snapshot = fn
		return nil
	}
}

// WithCache keeps up to n loaded states in memory (default 10,000; 0 turns
// the cache off). Handle decides on a cached state as if it were current:
// the append's version check corrects it when it is not, so a Handle on a
// cached instance costs one append; a decider that refuses a cached state,
// or decides nothing on it, is asked again on a state loaded from the
// store, so that a refusal never rests on a stale state.
func WithCache[S any](n int) Option[S] {
	return func(c *repoConfig[S]) error {
		if n < 0 {
			return fmt.Errorf("%w: cache size %d", eventstore.ErrInvalidOption, n)
		}
		c.cacheSize = n
		return nil
	}
}

// WithClone sets how a cached state is copied before a decider sees it or
// an event is applied to it, so that neither can change the cached state.
// The default copies through the state codec (encode, decode); a state
// with no maps, slices or pointers can use func(s S) S { return s }.
func WithClone[S any](fn func(S) S) Option[S] {
	return func(c *repoConfig[S]) error {
		if fn == nil {
			return fmt.Errorf("%w: nil clone", eventstore.ErrInvalidOption)
		}
		c.clone = fn
		return nil
	}
}

// WithLogger sets the logger for skipped snapshots (default slog.Default()).
func WithLogger[S any](l *slog.Logger) Option[S] {
	return func(c *repoConfig[S]) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", eventstore.ErrInvalidOption)
		}
		c.log = l
		return nil
	}
}

// defaultSnapshotEvery is the default snapshot policy's interval.
const defaultSnapshotEvery = 100

// NewRepository returns a repository of the aggregate type def on store.
func NewRepository[S, E any](store *eventstore.Store, def *Definition[S, E], opts ...Option[S]) (*Repository[S, E], error) {
	if err := def.Err(); err != nil {
		return nil, err
	}
	cfg := repoConfig[S]{attempts: 3, backoff: 2 * time.Millisecond, cacheSize: 10_000, log: slog.Default(),
		snapshot: func(prev, next uint64) bool { return prev/defaultSnapshotEvery != next/defaultSnapshotEvery }}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	r := &Repository[S, E]{store: store, def: def, cfg: cfg, log: cfg.log, snaps: make(chan snapJob[S], 64)}
	if r.cfg.clone == nil {
		r.cfg.clone = def.copyState
	}
	if cfg.cacheSize > 0 {
		r.cache = newStateCache[S](cfg.cacheSize)
	}
	r.wg.Go(r.writeSnapshots)
	return r, nil
}

// Close stops the snapshot writer after the snapshots already asked for.
func (r *Repository[S, E]) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		close(r.snaps)
		r.mu.Unlock()
		r.wg.Wait()
	})
	return nil
}

// Definition returns the repository's aggregate type.
func (r *Repository[S, E]) Definition() *Definition[S, E] { return r.def }

// Load returns the current state of instance id (the initial state at
// version 0 if it has no events).
func (r *Repository[S, E]) Load(ctx context.Context, id string) (Loaded[S], error) {
	return r.load(ctx, id, 0, time.Time{})
}

// LoadVersion returns the state of instance id as of version v: after its
// first v events. A version the stream has not reached is an error
// wrapping ErrNoVersion.
func (r *Repository[S, E]) LoadVersion(ctx context.Context, id string, v uint64) (Loaded[S], error) {
	if v == 0 {
		return Loaded[S]{State: r.def.Initial()}, nil
	}
	l, err := r.load(ctx, id, v, time.Time{})
	if err == nil && l.Version < v {
		return Loaded[S]{}, fmt.Errorf("%w: %s has %d events, not %d", ErrNoVersion, r.def.stream(id), l.Version, v)
	}
	return l, err
}

// LoadAt returns the state of instance id as of time t: after every event
// stored at or before t.
func (r *Repository[S, E]) LoadAt(ctx context.Context, id string, t time.Time) (Loaded[S], error) {
	if t.IsZero() {
		return Loaded[S]{}, fmt.Errorf("%w: zero time", eventstore.ErrInvalidOption)
	}
	return r.load(ctx, id, 0, t)
}

// load folds the stream up to version v or time t (0, zero: its end),
// from the newest snapshot at or before that point.
func (r *Repository[S, E]) load(ctx context.Context, id string, v uint64, t time.Time) (Loaded[S], error) {
	stream, err := r.def.Stream(id)
	if err != nil {
		return Loaded[S]{}, err
	}
	var bounds []eventstore.ReadOption
	if v > 0 {
		bounds = append(bounds, eventstore.ToVersion(v))
	}
	if !t.IsZero() {
		bounds = append(bounds, eventstore.ToTime(t))
	}
	var l Loaded[S]
	fromSnap := false
	if r.cfg.snapshot != nil {
		l, fromSnap = r.fromSnapshot(ctx, stream, bounds)
	}
	if !fromSnap {
		// The initial state is shared by every load: evolve a copy.
		l = Loaded[S]{State: r.cfg.clone(r.def.initial)}
	}
	if v > 0 && l.Version >= v {
		return l, nil
	}
	read := append([]eventstore.ReadOption{eventstore.FromVersion(l.Version + 1)}, bounds...)
	for e, err := range r.store.Read(ctx, stream, read...) {
		if err != nil {
			return Loaded[S]{}, fmt.Errorf("aggregate: load %s: %w", stream, err)
		}
		ev, et, err := r.def.decode(e)
		if err != nil {
			return Loaded[S]{}, fmt.Errorf("aggregate: load %s: %w", stream, err)
		}
		l.State = et.apply(l.State, ev)
		l.Version, l.At = e.Version, e.StoredAt
	}
	return l, nil
}

// fromSnapshot returns the state of the newest usable snapshot within the
// bounds. A snapshot of another schema, or one that does not decode, is
// skipped with a log line: the load replays instead.
func (r *Repository[S, E]) fromSnapshot(ctx context.Context, stream string, bounds []eventstore.ReadOption) (Loaded[S], bool) {
	snap, ok, err := r.store.LoadSnapshot(ctx, stream, bounds...)
	if err != nil {
		r.log.Warn("aggregate: snapshot not loaded; replaying", "stream", stream, "err", err)
		return Loaded[S]{}, false
	}
	if !ok {
		return Loaded[S]{}, false
	}
	if snap.Schema != r.def.stateSchema {
		r.log.Info("aggregate: skipping a snapshot of another state schema; replaying",
			"stream", stream, "version", snap.Version, "schema", snap.Schema, "want", r.def.stateSchema)
		return Loaded[S]{}, false
	}
	var s S
	if err := r.def.stateCodec.Unmarshal(snap.Data, &s); err != nil {
		r.log.Warn("aggregate: skipping a snapshot that does not decode; replaying",
			"stream", stream, "version", snap.Version, "err", err)
		return Loaded[S]{}, false
	}
	return Loaded[S]{State: s, Version: snap.Version, At: snap.StoredAt}, true
}

// HandleOption configures one Handle.
type HandleOption func(*handleConfig)

type handleConfig struct {
	command  string
	producer *producerID
}

type producerID struct {
	id         string
	epoch, seq uint64
}

// CommandID makes the command exactly-once on its instance, for the life
// of the stream: handling a command with the same id again (a retry after
// a timeout, a redelivery, two deliveries at once in two processes)
// appends nothing and returns the original Result. The id is recorded in
// the commit of the command's events (eventstore.WithCommandID).
func CommandID(id string) HandleOption {
	return func(c *handleConfig) { c.command = id }
}

// Producer makes the command the producer's sequence number seq at epoch:
// the store's producer rules apply (a stale epoch or a gap is refused) and
// a sequence number handled before returns its original Result.
func Producer(id string, epoch, seq uint64) HandleOption {
	return func(c *handleConfig) { c.producer = &producerID{id: id, epoch: epoch, seq: seq} }
}

// Handle runs a command on instance id: it loads the state (from the cache
// when it holds the instance), asks decide for the events, and appends
// them on condition that the stream is still at the version decided on.
// On a concurrency conflict it reloads and decides again, up to the
// repository's attempts (default 3) with a jittered pause between them,
// then fails with an error wrapping ErrTooManyConflicts and the last
// conflict. A decider's error is returned as it is, and nothing is
// appended; a decider that returns no events appends nothing. decide gets
// a copy of the state: it cannot change the cached one.
func (r *Repository[S, E]) Handle(ctx context.Context, id string, decide func(S) ([]E, error), opts ...HandleOption) (Result[E], error) {
	stream, err := r.def.Stream(id)
	if err != nil {
		return Result[E]{}, err
	}
	var hc handleConfig
	for _, o := range opts {
		o(&hc)
	}
	var appendOpts []eventstore.AppendOption
	command := hc.command
	if p := hc.producer; p != nil {
		appendOpts = append(appendOpts, eventstore.WithProducer(p.id, p.epoch, p.seq))
		if command == "" {
			// The producer rules alone say "duplicate"; the command id
			// recorded with the commit gives back the original outcome.
			command = "producer:" + p.id + ":" + strconv.FormatUint(p.epoch, 10) + ":" + strconv.FormatUint(p.seq, 10)
		}
	}
	if command != "" {
		appendOpts = append(appendOpts, eventstore.WithCommandID(command))
	}
	// A command handled before gets its original outcome, not a new
	// decision on a state it already changed: the append finds it (and
	// stores nothing) when the decider decides the same again; when the
	// decider refuses, or decides nothing, the store is asked.
	handledBefore := func(decided error) (Result[E], error) {
		if command == "" {
			return Result[E]{}, decided
		}
		res, found, err := r.store.CommandOutcome(ctx, stream, command)
		if err != nil {
			return Result[E]{}, fmt.Errorf("aggregate: handle %s: %w", stream, err)
		}
		if found {
			return r.original(ctx, stream, res)
		}
		return Result[E]{}, decided
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
		events, err := decide(r.cfg.clone(cur.State))
		if cached && (err != nil || len(events) == 0) {
			// A refusal (or nothing to do) has no version check to correct
			// a stale cached state: decide again on the stream as it is.
			r.cache.drop(id)
			attempt--
			continue
		}
		if err != nil {
			return handledBefore(err)
		}
		if len(events) == 0 {
			if res, err := handledBefore(nil); err != nil || res.Duplicate {
				return res, err
			}
			return Result[E]{Version: cur.Version}, nil // nothing appended, nothing recorded
		}
		stored, err := r.def.Encode(events)
		if err != nil {
			return Result[E]{}, fmt.Errorf("aggregate: handle %s: %w", stream, err)
		}
		res, err := r.store.Append(ctx, stream, stored, append(appendOpts, eventstore.ExpectVersion(cur.Version))...)
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
		if err != nil {
			return Result[E]{}, fmt.Errorf("aggregate: handle %s: %w", stream, err)
		}
		if res.Duplicate {
			r.cache.drop(id)
			return r.original(ctx, stream, res)
		}
		next := Loaded[S]{State: r.def.Evolve(r.cfg.clone(cur.State), events...), Version: res.Version, At: res.StoredAt}
		r.cache.put(id, next)
		r.maybeSnapshot(stream, cur.Version, next)
		return Result[E]{Version: res.Version, Offsets: res.Offsets, Events: events, StoredAt: res.StoredAt}, nil
	}
	return Result[E]{}, fmt.Errorf("aggregate: handle %s: %w after %d attempts: %w", stream, ErrTooManyConflicts, r.cfg.attempts, lastConflict)
}

// current returns the state a command decides on: the cached one if
// allowed and present, else a fresh load (which is then cached).
func (r *Repository[S, E]) current(ctx context.Context, id string, useCache bool) (Loaded[S], bool, error) {
	if useCache {
		if l, ok := r.cache.get(id); ok {
			return l, true, nil
		}
	}
	l, err := r.Load(ctx, id)
	if err != nil {
		return Loaded[S]{}, false, err
	}
	if r.cache != nil { // the copy is only worth making for a cache
		r.cache.put(id, Loaded[S]{State: r.cfg.clone(l.State), Version: l.Version, At: l.At})
	}
	return l, false, nil
}

// pause waits before attempt (1-based retries): a jittered 1–2× of a
// backoff doubling from 2 ms.
func (r *Repository[S, E]) pause(ctx context.Context, attempt int) error {
	d := r.cfg.backoff << min(attempt-1, 6)
	d += time.Duration(rand.Int64N(int64(d) + 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// original returns the Result of a command handled before: the events of
// the commit the store recorded for it.
func (r *Repository[S, E]) original(ctx context.Context, stream string, res eventstore.AppendResult) (Result[E], error) {
	out := Result[E]{Version: res.Version, Offsets: res.Offsets, Duplicate: true, StoredAt: res.StoredAt}
	if len(res.Offsets) == 0 {
		return out, nil // a producer duplicate without a recorded command
	}
	for e, err := range r.store.Read(ctx, stream, eventstore.FromVersion(res.FirstVersion), eventstore.ToVersion(res.Version)) {
		if err != nil {
			return Result[E]{}, fmt.Errorf("aggregate: handle %s: the original outcome: %w", stream, err)
		}
		ev, err := r.def.Decode(e)
		if err != nil {
			return Result[E]{}, fmt.Errorf("aggregate: handle %s: the original outcome: %w", stream, err)
		}
		out.Events = append(out.Events, ev)
	}
	return out, nil
}
