package aggregate

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
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
	// Offset is the offset of the event at Version (eventstore.Start when
	// none): read from it for what followed. It tells the stream from one
	// deleted and made again up to the same version.
	Offset eventstore.Offset
}

// Result is the outcome of a command handled by Handle.
type Result[E any] struct {
	// FirstVersion is the version of the command's first event (0 when
	// the command has no events).
	FirstVersion uint64
	// Version is the stream's version after the command (its version
	// before, when the decider returned no events).
	Version uint64
	// Offsets are the offsets of the events appended, in order.
	Offsets []eventstore.Offset
	// Events are the events the command appended.
	Events []E
	// Duplicate reports that the command had been handled before (by its
	// command id or producer sequence): nothing was decided or appended
	// now, and the result is the original one.
	Duplicate bool
	// StoredAt is the store time of the command's events, or of the record
	// of a command id that decided nothing.
	StoredAt time.Time
}

// Repository loads and changes the instances of one aggregate type on a
// store. It is safe for concurrent use. Close it to stop the goroutine
// that writes snapshots.
type Repository[S, E any] struct {
	store   *eventstore.Store
	def     *Definition[S, E]
	cfg     repoConfig
	clone   func(S) (S, error) // fails (ErrStateCopy) only for the codec's copy
	cache   *stateCache[S]
	log     *slog.Logger
	snapTag string    // the snapshots' Schema prefix: this fold's (see snapshots.go)
	big     oversized // the streams whose state is too large to snapshot

	snaps     chan snapJob[S]
	wg        sync.WaitGroup
	closeOnce sync.Once
	mu        sync.RWMutex // held for reading while sending to snaps
	closed    bool
}

type repoConfig struct {
	attempts  int
	backoff   time.Duration
	snapshot  func(prev, next uint64) bool // nil: no snapshots taken
	cacheSize int
	clone     any // WithClone's func(S) S
	log       *slog.Logger
}

// Option configures a Repository. Options are not generic: the state type
// is the repository's, so none has to spell it (WithClone's function says
// it by itself). A nil Option is ignored.
type Option func(*repoConfig) error

// WithMaxAttempts sets how many times Handle decides and appends before it
// gives up on concurrency conflicts (default 3).
func WithMaxAttempts(n int) Option {
	return func(c *repoConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: %d attempts", eventstore.ErrInvalidOption, n)
		}
		c.attempts = n
		return nil
	}
}

// WithSnapshotEvery takes a snapshot whenever a command takes the stream
// past a multiple of n events (default 100); 0 takes none. A load that
// replays past a multiple of n takes one there too (a stream written by
// plain appends gets the snapshots its commands would have left). Loads
// use the snapshots that exist whatever the policy (deleting them changes
// no result: eventstore.Store.DeleteSnapshots).
func WithSnapshotEvery(n uint64) Option {
	return func(c *repoConfig) error {
		if n == 0 {
			c.snapshot = nil
			return nil
		}
		c.snapshot = func(prev, next uint64) bool { return prev/n != next/n }
		return nil
	}
}

// WithSnapshotWhen takes a snapshot after a command that took the stream
// from version prev to next when fn says so, and where a load replays
// through version v when fn(v-1, v) says so.
func WithSnapshotWhen(fn func(prev, next uint64) bool) Option {
	return func(c *repoConfig) error {
		if fn == nil {
			return fmt.Errorf("%w: nil snapshot policy", eventstore.ErrInvalidOption)
		}
		c.snapshot = fn
		return nil
	}
}

// WithCache keeps up to n loaded states in memory (default 10,000; 0 turns
// the cache off). Handle decides on a cached state as if it were current:
// the append's check (the stream's version, and the offset of its last
// event, which tells a stream deleted and made again) corrects it when it
// is not, so a Handle on a cached instance costs one append; a decider
// that refuses a cached state, or decides nothing on it, is asked again on
// a state loaded from the store, so that a refusal never rests on a stale
// state (with a CommandID, the record of the refusal is that append).
func WithCache(n int) Option {
	return func(c *repoConfig) error {
		if n < 0 {
			return fmt.Errorf("%w: cache size %d", eventstore.ErrInvalidOption, n)
		}
		c.cacheSize = n
		return nil
	}
}

// WithClone sets how a cached state is copied before a decider sees it or
// an event is applied to it, so that neither can change the cached state.
// The default copies through the state codec (encode, decode), which
// fails for a state the codec cannot carry (a float NaN or an infinity in
// JSON, a channel, a func): such a command fails with ErrStateCopy rather
// than share the cached state, and such a state needs its own clone. A
// state with no maps, slices or pointers can use func(s S) S { return s }.
// NewRepository refuses a clone of another state type than its own.
func WithClone[S any](fn func(S) S) Option {
	return func(c *repoConfig) error {
		if fn == nil {
			return fmt.Errorf("%w: nil clone", eventstore.ErrInvalidOption)
		}
		c.clone = fn
		return nil
	}
}

// WithLogger sets the logger for skipped snapshots (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *repoConfig) error {
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
func NewRepository[S, E any](store *eventstore.Store, def *Definition[S, E], opts ...Option) (*Repository[S, E], error) {
	if store == nil {
		return nil, fmt.Errorf("%w: a repository needs a store", eventstore.ErrInvalidOption)
	}
	if def == nil {
		return nil, fmt.Errorf("%w: a repository needs a definition", ErrDefinition)
	}
	if err := def.Err(); err != nil {
		return nil, err
	}
	cfg := repoConfig{attempts: 3, backoff: 2 * time.Millisecond, cacheSize: 10_000, log: slog.Default(),
		snapshot: func(prev, next uint64) bool { return prev/defaultSnapshotEvery != next/defaultSnapshotEvery }}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	r := &Repository[S, E]{store: store, def: def, cfg: cfg, log: cfg.log, snaps: make(chan snapJob[S], 64),
		clone: def.copyState, snapTag: snapshotTag(def)}
	if cfg.clone != nil {
		fn, ok := cfg.clone.(func(S) S)
		if !ok {
			return nil, fmt.Errorf("%w: WithClone of %T for a repository of %v", eventstore.ErrInvalidOption, cfg.clone, reflect.TypeFor[S]())
		}
		r.clone = func(s S) (S, error) { return fn(s), nil }
	}
	if cfg.cacheSize > 0 {
		r.cache = newStateCache[S](cfg.cacheSize)
	}
	r.wg.Go(r.writeSnapshots)
	store.Observer().AggregateKnown(def.Category())
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
	stream, err := r.def.Stream(id)
	if err != nil {
		return Loaded[S]{}, err
	}
	if v == 0 {
		initial, err := r.clone(r.def.initial)
		if err != nil {
			return Loaded[S]{}, fmt.Errorf("aggregate: load %q: the initial state: %w", stream, err)
		}
		return Loaded[S]{State: initial, Offset: eventstore.Start}, nil
	}
	l, err := r.load(ctx, id, v, time.Time{})
	if err == nil && l.Version < v {
		return Loaded[S]{}, fmt.Errorf("%w: %q has %d events, not %d", ErrNoVersion, stream, l.Version, v)
	}
	return l, err
}

// LoadAt returns the state of instance id as of time t: after every event
// stored at or before t. The zero time is an error wrapping
// eventstore.ErrInvalidOption (it is no time a store gives an event).
func (r *Repository[S, E]) LoadAt(ctx context.Context, id string, t time.Time) (Loaded[S], error) {
	if _, err := r.def.Stream(id); err != nil {
		return Loaded[S]{}, err
	}
	if t.IsZero() {
		return Loaded[S]{}, fmt.Errorf("%w: zero time", eventstore.ErrInvalidOption)
	}
	return r.load(ctx, id, 0, t)
}

// load folds the stream up to version v or time t (0, zero: its end),
// from the newest usable snapshot at or before that point. The event at
// the snapshot's version is read again, and the snapshot used only if it
// is the event the snapshot was made after (the stream may have been
// deleted and made again since): else the stream is replayed from its
// start.
func (r *Repository[S, E]) load(ctx context.Context, id string, v uint64, t time.Time) (Loaded[S], error) {
	if o := r.store.Observer(); o != nil {
		return r.observedLoad(ctx, o, id, v, t)
	}
	return r.fold(ctx, id, v, t, nil)
}

// fold is load, unobserved; it notes in facts (if not nil) whether a
// snapshot was used, and its version.
func (r *Repository[S, E]) fold(ctx context.Context, id string, v uint64, t time.Time, facts *loadFacts) (Loaded[S], error) {
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
	if l, ok := r.fromSnapshot(ctx, stream, bounds); ok {
		base := l.Version
		l, ok, err := r.replay(ctx, stream, l, true, bounds)
		if err != nil || ok {
			if facts != nil {
				facts.snapshot, facts.base = true, base
			}
			return l, err
		}
		r.log.Info("aggregate: skipping a snapshot of a stream deleted and made again; replaying", "stream", stream)
	}
	// The initial state is shared by every load: evolve a copy.
	initial, err := r.clone(r.def.initial)
	if err != nil {
		return Loaded[S]{}, fmt.Errorf("aggregate: load %q: the initial state: %w", stream, err)
	}
	l, _, err := r.replay(ctx, stream, Loaded[S]{State: initial, Offset: eventstore.Start}, false, bounds)
	return l, err
}

// replay applies the stream's events after l to it, within bounds. From a
// snapshot, it first reads the event at l.Version, and reports false if
// that is not the one at l.Offset.
func (r *Repository[S, E]) replay(ctx context.Context, stream string, l Loaded[S], fromSnap bool, bounds []eventstore.ReadOption) (Loaded[S], bool, error) {
	from := l.Version + 1
	if fromSnap {
		from = l.Version
	}
	read := append([]eventstore.ReadOption{eventstore.FromVersion(from)}, bounds...)
	checked := !fromSnap
	for e, err := range r.store.Read(ctx, stream, read...) {
		if err != nil {
			return Loaded[S]{}, false, fmt.Errorf("aggregate: load %q: %w", stream, err)
		}
		if !checked {
			if e.Version != l.Version || e.Offset != l.Offset {
				return Loaded[S]{}, false, nil
			}
			checked = true
			continue
		}
		ev, et, err := r.def.decode(e)
		if err != nil {
			return Loaded[S]{}, false, fmt.Errorf("aggregate: load %q: %w", stream, err)
		}
		if l.State, err = applyEvent(et, l.State, ev, stream, e.Version); err != nil {
			return Loaded[S]{}, false, fmt.Errorf("aggregate: load %q: %w", stream, err)
		}
		l.Version, l.At, l.Offset = e.Version, e.StoredAt, e.Offset
		r.snapshotOnLoad(stream, l)
	}
	return l, checked, nil
}
