package projection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/ctxsleep"
)

// DeadLetterCategory is the category of the streams that keep poison
// events skipped under the DeadLetter policy: "rewind-dead-letters/<projection>".
// Sources of All skip it.
const DeadLetterCategory = "rewind-dead-letters"

// Poison says what happens to an event its handler keeps failing on.
type Poison int

const (
	// Stop stops the projection with an error naming the event, its stream
	// and offset (the default). Nothing after it is applied.
	Stop Poison = iota
	// DeadLetter appends the event to the projection's dead-letter stream,
	// with the error, and goes on after it. A dead letter is the event
	// (ID, type, time, data; its metadata under "event-<key>") with
	// metadata "stream", "version", "offset" and "error" (the handler's
	// error, cut to 4 KiB). It always fits in an append: an event whose
	// data does not fit beside those is dead-lettered without its data and
	// metadata, with "omitted" saying so; the event is still in the log,
	// where its stream, version and offset find it.
	DeadLetter
)

// Projection is one read model fed from a source.
type Projection struct {
	// Name identifies the projection: its lease, its status, its
	// checkpoint and its dead-letter stream, DeadLetterCategory + "/" +
	// Name. It must be a valid name for each (checkpoint.CheckName: 1 to
	// checkpoint.MaxNameLen bytes; eventstore.CheckStreamName of the
	// dead-letter stream: no empty, "." or ".." segment, no control
	// character), whatever the Poison policy, so that the policy can be
	// changed without renaming: Start, Replay and Rebuild refuse another
	// with an error matching eventstore.ErrInvalidOption and the rule's
	// own sentinel. The sinks of this package keep the checkpoint under the
	// name they were made with, which must be this one: Start, Replay and
	// Rebuild refuse a projection whose sink names another.
	Name string
	// Source is what it reads. Left unset, it is the zero Source, All:
	// the whole log.
	Source Source
	// Sink applies batches and keeps the position.
	Sink Sink
	// Types, if set, are the only event types handed to the sink (the
	// position moves past the others too: Status.Position at once, the
	// saved one through Sink.Skip a second after it first moved, and when
	// the feed stops). An empty type among them is refused: no event
	// has one.
	Types []string
	// BatchSize bounds the events of one batch: 0 means the default, 256;
	// at most MaxBatchSize, and others, negative ones too, are refused.
	// It bounds memory, not reserves it: the events waiting for the
	// handler are held as they are read, up to a batch ahead.
	BatchSize int
	// Retries is how many times a failing batch is tried again, with a
	// backoff from 50 ms doubling to 5 s, before its events are tried one
	// at a time and the failing one is poison. 0 means the default, 5;
	// NoRetries turns retries off (a failing batch is at once tried one
	// event at a time, and a failing event is at once poison). Other
	// negative values are refused.
	Retries int
	// Poison is the policy for a poison event (default Stop).
	Poison Poison
	// Lease, if set, makes the projection run in one process at a time:
	// the others stand by and take over when the holder's lease lapses.
	Lease checkpoint.Leaser
	// LeaseTTL is how long a lease lasts unless renewed (0: the default,
	// 3 s), renewed every third of it: a standby takes over when the lease
	// of a holder that died lapses, at most LeaseTTL after its last
	// renewal. Below MinLeaseTTL, or negative, it is refused: a renewal
	// must come back well within a third of it, or the holder loses its
	// lease while alive (on a loaded host or a cluster, keep it to a
	// second or more).
	LeaseTTL time.Duration
}

// NoRetries, as Projection.Retries, turns retries off.
const NoRetries = -1

// MaxBatchSize is the largest Projection.BatchSize: a batch is one call of
// the handler (one transaction of an ExactlyOnce sink), and one that large
// already amortises the call's cost; larger ones only hold more in memory.
const MaxBatchSize = 10_000

// MinLeaseTTL is the shortest Projection.LeaseTTL: the lease is renewed
// every third of it, and a renewal is a round trip to the Leaser's store.
const MinLeaseTTL = 100 * time.Millisecond

// withDefaults checks p and fills in the defaults the fields document.
func (p Projection) withDefaults() (Projection, error) {
	if p.Name == "" || p.Sink == nil {
		return p, fmt.Errorf("projection: %w: a projection needs a name and a sink", eventstore.ErrInvalidOption)
	}
	if err := checkName(p.Name); err != nil {
		return p, err
	}
	if n, ok := p.Sink.(namedSink); ok {
		if n.checkpointName() != p.Name {
			return p, fmt.Errorf("projection %q: %w: its sink keeps its checkpoint under %q; make the sink with the projection's name",
				p.Name, eventstore.ErrInvalidOption, n.checkpointName())
		}
		if err := n.check(); err != nil {
			return p, fmt.Errorf("projection %q: %w: %w", p.Name, eventstore.ErrInvalidOption, err)
		}
	}
	if err := p.Source.check(); err != nil {
		return p, fmt.Errorf("projection %q: %w", p.Name, err)
	}
	if slices.Contains(p.Types, "") {
		return p, fmt.Errorf("projection %q: %w: Types holds an empty type, which no event has", p.Name, eventstore.ErrInvalidOption)
	}
	switch {
	case p.BatchSize < 0 || p.BatchSize > MaxBatchSize:
		return p, fmt.Errorf("projection %q: %w: BatchSize %d (1 to %d; 0 for the default)", p.Name, eventstore.ErrInvalidOption, p.BatchSize, MaxBatchSize)
	case p.BatchSize == 0:
		p.BatchSize = 256
	}
	switch {
	case p.Retries == NoRetries:
		p.Retries = 0
	case p.Retries < 0:
		return p, fmt.Errorf("projection %q: %w: Retries %d (0 for the default, NoRetries for none)", p.Name, eventstore.ErrInvalidOption, p.Retries)
	case p.Retries == 0:
		p.Retries = 5
	}
	switch {
	case p.LeaseTTL < 0 || p.LeaseTTL > 0 && p.LeaseTTL < MinLeaseTTL:
		return p, fmt.Errorf("projection %q: %w: LeaseTTL %v (at least %v; 0 for the default)", p.Name, eventstore.ErrInvalidOption, p.LeaseTTL, MinLeaseTTL)
	case p.LeaseTTL == 0:
		p.LeaseTTL = 3 * time.Second
	}
	return p, nil
}

// checkStore refuses a projection on a Runner made without a store, or a
// Replay given none.
func checkStore(store *eventstore.Store, name string) error {
	if store == nil {
		return fmt.Errorf("projection %q: %w: no store (NewRunner(store, log))", name, eventstore.ErrInvalidOption)
	}
	return nil
}

// checkName applies the rules of the names a projection's name becomes:
// a checkpoint's and a lease's, and the dead-letter stream's. The store
// and package checkpoint own those rules; they are asked, not restated.
func checkName(name string) error {
	if err := checkpoint.CheckName(name); err != nil {
		return fmt.Errorf("projection %q: %w: %w", name, eventstore.ErrInvalidOption, err)
	}
	if err := eventstore.CheckStreamName(deadLetterStream(name)); err != nil {
		return fmt.Errorf("projection %q: %w: its dead-letter stream: %w", name, eventstore.ErrInvalidOption, err)
	}
	return nil
}

// deadLetterStream is the stream that keeps projection name's dead letters.
func deadLetterStream(name string) string { return DeadLetterCategory + "/" + name }

// State is what a projection is doing.
type State string

const (
	// StateStarting: loading the position.
	StateStarting State = "starting"
	// StateStandby: waiting for the lease another process holds.
	StateStandby State = "standby"
	// StateCatchingUp: applying events stored before it started.
	StateCatchingUp State = "catching-up"
	// StateLive: caught up, applying events as they are appended.
	StateLive State = "live"
	// StateStopped: stopped by Stop, Close or its context.
	StateStopped State = "stopped"
	// StateFailed: stopped by an error (Status.Err), such as a poison event.
	StateFailed State = "failed"
)

// Status is a projection's progress.
type Status struct {
	Name  string
	State State
	// Position is the offset of the last event applied or, with Types,
	// of the last event passed over, whichever is later.
	Position eventstore.Offset
	// LiveFrom is the log's tail when the projection last began to feed
	// (at Start, or when it took its lease): the events up to it come in
	// batches marked Replay, those after it in batches that are not, and
	// the projection is live once it has applied everything of its source
	// up to LiveFrom, however busy the log is.
	LiveFrom eventstore.Offset
	// LagCommits is how far the source's newest event lies after Position,
	// in log commits (appends, counted in log sequences, so appends to
	// streams outside the source that lie in between count too): zero when
	// the projection has applied every event of its source (its category,
	// streams and Types) stored before the call, whatever the rest of the
	// log holds.
	LagCommits uint64
	// LagTime is how long the oldest event of the source that the
	// projection has yet to apply has been stored: zero when it has
	// applied every one stored before the call.
	LagTime time.Duration
	Err     error
}

// Runner runs projections on a store. It is safe for concurrent use.
type Runner struct {
	store *eventstore.Store
	log   *slog.Logger

	mu      sync.Mutex
	procs   map[string]*proc
	closed  bool // by Close: Start starts nothing more
	wg      sync.WaitGroup
	unwatch func() // stops the store Observer's scrapes of the projections
}

// NewRunner returns a runner on store. log is for failures and dead
// letters (nil: slog.Default()).
func NewRunner(store *eventstore.Store, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.Default()
	}
	r := &Runner{store: store, log: log, procs: make(map[string]*proc)}
	r.unwatch = r.watch()
	return r
}

// proc is one running projection.
type proc struct {
	p       Projection
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	st      Status
	cancel  context.CancelFunc
	done    chan struct{}
	lag     lagScan
	// startTail is the log's tail Start read, for the first feed of a
	// projection without a lease: the events appended after Start
	// returned are live.
	startTail    eventstore.Offset
	hasStartTail bool
	// fedTail is the tail the running feed took (its LiveFrom), kept when
	// it resumes after eventstore.ErrUnavailable.
	fedTail eventstore.Offset
}

func (pr *proc) set(fn func(*Status)) {
	pr.mu.Lock()
	fn(&pr.st)
	close(pr.changed)
	pr.changed = make(chan struct{})
	pr.mu.Unlock()
}

// Start runs p until ctx ends, Stop is called, or it fails (see Status).
func (r *Runner) Start(ctx context.Context, p Projection) error {
	p, err := p.withDefaults()
	if err != nil {
		return err
	}
	if err := checkStore(r.store, p.Name); err != nil {
		return err
	}
	// Without a lease the projection starts feeding now: the tail is
	// noted before Start returns (Status.LiveFrom), so that everything
	// appended after it comes live. With one, it is noted when the lease
	// is taken.
	var tail eventstore.Offset
	if p.Lease == nil {
		if tail, err = r.store.Tail(ctx); err != nil {
			return fmt.Errorf("projection %s: %w", p.Name, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("%w: %s not started", ErrClosed, p.Name)
	}
	if old := r.procs[p.Name]; old != nil && !old.ended() {
		return fmt.Errorf("projection %s: %w: already running", p.Name, eventstore.ErrInvalidOption)
	}
	ctx, cancel := context.WithCancel(ctx)
	pr := &proc{p: p, changed: make(chan struct{}), st: Status{Name: p.Name, State: StateStarting, Position: eventstore.Start, LiveFrom: tail},
		cancel: cancel, done: make(chan struct{}), startTail: tail, hasStartTail: p.Lease == nil}
	r.procs[p.Name] = pr
	r.store.Observer().ProjectionKnown(p.Name)
	r.wg.Go(func() {
		defer close(pr.done)
		defer cancel()
		err := r.run(ctx, pr)
		pr.set(func(s *Status) {
			if err != nil && ctx.Err() == nil {
				s.State, s.Err = StateFailed, err
				r.log.Error("projection failed", "projection", p.Name, "err", err)
			} else {
				s.State = StateStopped
			}
		})
	})
	return nil
}

// tail returns the tail Start noted (or feed kept), the first time it is
// asked, and the log's tail after that; the running feed's is noted.
func (pr *proc) tail(ctx context.Context, s *eventstore.Store) (eventstore.Offset, error) {
	pr.mu.Lock()
	t, ok := pr.startTail, pr.hasStartTail
	pr.hasStartTail = false
	pr.mu.Unlock()
	if !ok {
		var err error
		if t, err = s.Tail(ctx); err != nil {
			return "", err
		}
	}
	pr.mu.Lock()
	pr.fedTail = t
	pr.mu.Unlock()
	return t, nil
}

func (pr *proc) ended() bool {
	select {
	case <-pr.done:
		return true
	default:
		return false
	}
}

// Stop stops the projection name and waits for it.
func (r *Runner) Stop(name string) {
	r.mu.Lock()
	pr := r.procs[name]
	r.mu.Unlock()
	if pr != nil {
		pr.cancel()
		<-pr.done
	}
}

// Close stops every projection and waits for them. A closed runner starts
// nothing more: Start and Rebuild return ErrClosed.
func (r *Runner) Close() {
	if r.unwatch != nil { // nil in a zero Runner
		r.unwatch()
	}
	r.mu.Lock()
	r.closed = true
	for _, pr := range r.procs {
		pr.cancel()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// Status returns the projection's status. Its lag is measured against
// the projection's source: Status reads the part of it stored since its
// previous call for that projection (from the read index; the first call
// reads it from the projection's position), so the cost of a call follows
// what was appended since, not the log's size. A projection starting or
// standing by reports no lag, nor does any while the cluster cannot say
// within a second where the log ends.
func (r *Runner) Status(name string) (Status, bool) {
	r.mu.Lock()
	pr := r.procs[name]
	r.mu.Unlock()
	if pr == nil {
		return Status{}, false
	}
	pr.mu.Lock()
	st := pr.st
	pr.mu.Unlock()
	if st.State == StateStarting || st.State == StateStandby {
		return st, true // its position is not loaded: no lag to tell
	}
	tctx, cancel := context.WithTimeout(context.Background(), statusTailWait)
	tail, err := r.store.Tail(tctx)
	cancel()
	if err == nil {
		st.LagCommits, st.LagTime = r.lag(context.Background(), pr, st.Position, tail)
	}
	return st, true
}

// statusTailWait bounds Status's look at where the log ends. A scrape or
// a status page asks for every projection's; while the cluster cannot
// say (an election, or too few nodes up for a leader in touch with a
// majority: eventstore.ErrUnavailable), the lag is left out at once
// rather than waited for ten seconds per projection.
const statusTailWait = time.Second

// Statuses returns every projection's status, sorted by name.
func (r *Runner) Statuses() []Status {
	r.mu.Lock()
	names := make([]string, 0, len(r.procs))
	for n := range r.procs {
		names = append(names, n)
	}
	r.mu.Unlock()
	slices.Sort(names)
	var out []Status
	for _, n := range names {
		if st, ok := r.Status(n); ok {
			out = append(out, st)
		}
	}
	return out
}

// running reports whether a projection named name runs on r.
func (r *Runner) running(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	pr := r.procs[name]
	return pr != nil && !pr.ended()
}

// isClosed reports whether Close was called.
func (r *Runner) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// WaitCaughtUp waits until projection name has applied every event of its
// source appended before the call (the read model reflects them), or it
// fails (its Status.Err) or stops (ErrNotRunning, as for a name not
// started), or ctx ends.
func (r *Runner) WaitCaughtUp(ctx context.Context, name string) error {
	r.mu.Lock()
	pr := r.procs[name]
	r.mu.Unlock()
	if pr == nil {
		return fmt.Errorf("%w: %s", ErrNotRunning, name)
	}
	tail, err := r.store.Tail(ctx)
	if err != nil {
		return err
	}
	for {
		pr.mu.Lock()
		st, ch := pr.st, pr.changed
		pr.mu.Unlock()
		switch st.State {
		case StateFailed:
			return st.Err
		case StateStopped:
			return fmt.Errorf("%w: %s stopped", ErrNotRunning, name)
		}
		if st.State == StateLive || st.State == StateCatchingUp {
			pending, err := r.pending(ctx, pr.p, st.Position, tail)
			if err != nil {
				return err
			}
			if !pending {
				return nil
			}
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		t.Stop()
	}
}

// pending reports whether the source holds an event for p after pos, up
// to and including the position tail.
func (r *Runner) pending(ctx context.Context, p Projection, pos, tail eventstore.Offset) (bool, error) {
	if pos >= tail {
		return false, nil
	}
	for e, err := range p.Source.read(ctx, r.store, false, eventstore.From(pos), eventstore.ToOffset(tail)) {
		if err != nil {
			return false, err
		}
		if wanted(p, e) {
			return true, nil
		}
	}
	return false, nil
}

func wanted(p Projection, e eventstore.Event) bool {
	if p.Source.kind == sourceAll && strings.HasPrefix(e.Stream, DeadLetterCategory+"/") {
		return false
	}
	if len(p.Types) == 0 {
		return true
	}
	for _, t := range p.Types {
		if t == e.Type {
			return true
		}
	}
	return false
}

// offsetSeq is the log sequence an offset names (0 for Start).
func offsetSeq(o eventstore.Offset) uint64 {
	s, _, _ := strings.Cut(string(o), "_")
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// seqOffset is the offset after the whole commit at log sequence seq
// (Start for 0), in the fixed format eventstore documents for offsets.
func seqOffset(seq uint64) eventstore.Offset {
	if seq == 0 {
		return eventstore.Start
	}
	return eventstore.Offset(fmt.Sprintf("%020d_999999", seq))
}

// commitOffset is the offset after the whole commit that holds o.
func commitOffset(o eventstore.Offset) eventstore.Offset { return seqOffset(offsetSeq(o)) }

// errLeaseLost is the cause of a feed's end when its lease could not be
// renewed: the feed saves nothing more (another process may hold the
// projection now).
var errLeaseLost = errors.New("projection: lease lost")

// run holds the lease (if any) and feeds the sink, until ctx ends or a
// poison event stops it.
func (r *Runner) run(ctx context.Context, pr *proc) error {
	p := pr.p
	if p.Lease == nil {
		return r.feed(ctx, pr)
	}
	holder := fmt.Sprintf("%s-%d", hostID(), time.Now().UnixNano())
	for {
		pr.set(func(s *Status) { s.State = StateStandby })
		lease, err := waitLease(ctx, p, holder)
		if err != nil {
			return err
		}
		lost := make(chan struct{})
		lctx, cancelCause := context.WithCancelCause(ctx)
		cancel := func() { cancelCause(nil) }
		var wg sync.WaitGroup
		last := lease
		wg.Go(func() { last = renewLease(lctx, p, lease, lost, cancelCause) })
		err = r.feed(lctx, pr)
		cancel()
		wg.Wait()
		// The lease as last renewed: a Leaser releases a lease only at its
		// current revision, so releasing the one first acquired would be
		// a no-op after a renewal, and the next holder would wait for it
		// to lapse.
		_ = p.Lease.Release(context.WithoutCancel(ctx), last)
		select {
		case <-lost:
			r.log.Warn("projection lost its lease; standing by", "projection", p.Name)
			continue
		default:
		}
		return err
	}
}

func waitLease(ctx context.Context, p Projection, holder string) (checkpoint.Lease, error) {
	for {
		l, err := p.Lease.Acquire(ctx, p.Name, holder, p.LeaseTTL)
		if err == nil {
			return l, nil
		}
		if err := ctxsleep.Sleep(ctx, retryLease(err, p.LeaseTTL, time.Now())); err != nil {
			return checkpoint.Lease{}, err
		}
	}
}

// leaseSlack is how long after the lapse of another's lease a standby
// tries to take it: the lapse is compared with the clock, so it is tried
// just after.
const leaseSlack = time.Millisecond

// retryLease is how long a standby waits before it tries a lease again,
// after Acquire failed with err at now: until the holder's lease lapses
// if the Leaser said when (a *checkpoint.LeaseHeldError; then a holder
// that dies right after renewing is replaced a lease after its renewal,
// not later), and a third of a lease otherwise (a lease store that is
// unreachable, or a lease just taken by another). Never more than a lease.
func retryLease(err error, ttl time.Duration, now time.Time) time.Duration {
	var held *checkpoint.LeaseHeldError
	if !errors.As(err, &held) {
		return ttl / 3
	}
	return min(max(held.Expires.Sub(now)+leaseSlack, leaseSlack), ttl)
}

// renewLease renews the lease every third of its TTL, until ctx ends, and
// returns the lease as last renewed; when a renewal fails, it closes lost
// and cancels the feed.
func renewLease(ctx context.Context, p Projection, l checkpoint.Lease, lost chan struct{}, cancel context.CancelCauseFunc) checkpoint.Lease {
	t := time.NewTicker(p.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return l
		case <-t.C:
		}
		renewed, err := p.Lease.Acquire(ctx, p.Name, l.Holder, p.LeaseTTL)
		if err != nil {
			if ctx.Err() == nil {
				close(lost)
				cancel(errLeaseLost)
			}
			return l
		}
		l = renewed
	}
}
