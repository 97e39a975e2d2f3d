package eventstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/rewindhq/rewind/internal/ctxsleep"
)

// AppendResult describes a successful append.
type AppendResult struct {
	// Stream is the stream appended to.
	Stream string
	// FirstVersion and Version are the versions of the first and last
	// events stored; Version is the stream's new version. For a producer
	// duplicate nothing is stored and both are the stream's current version.
	FirstVersion, Version uint64
	// Offsets holds the offset of each stored event, in order.
	Offsets []Offset
	// Duplicate reports that the append had already been stored: an
	// idempotent producer's sequence number, or a command id (then the
	// result is the stored commit's: its versions, offsets and store time).
	// Nothing was stored again.
	Duplicate bool
	// ProducerEpoch and ProducerSeq are the producer's state after the
	// append (for a duplicate, the last sequence stored).
	ProducerEpoch, ProducerSeq uint64
	// Closed reports that the stream is closed after the append (it
	// closed the stream, or, for a duplicate or a repeated close, was
	// closed before).
	Closed bool
	// StoredAt is the commit's store time, which every event of the append
	// carries as its StoredAt (for a command id's duplicate, the stored
	// commit's; zero for a producer's duplicate).
	StoredAt time.Time
	// CommandData is the data recorded with the command id
	// (WithCommandData), for a command id's duplicate and CommandOutcome;
	// nil otherwise.
	CommandData []byte
}

// Offset returns the offset after the last stored event (read from it to
// see what follows the append), or "" when nothing was stored.
func (r AppendResult) Offset() Offset {
	if len(r.Offsets) == 0 {
		return ""
	}
	return r.Offsets[len(r.Offsets)-1]
}

// Append stores events at the end of stream, all or none, and returns the
// new version and each event's offset. The events of one Append are one
// commit: a reader sees all of them or none, and they share a store time.
//
// With ExpectVersion the append succeeds only if the stream's version
// matches when the commit is stored; a mismatch returns a *ConcurrencyError
// (errors.Is(err, ErrConcurrency)) carrying the actual version. Without an
// expectation, concurrent appends to one stream are all stored, one after
// another. With WithProducer the producer rules apply first (see
// WithProducer). Events with a zero ID get a UUID v7 (the IDs one store
// makes increase in the order it makes them); a zero Time becomes now. The
// caller's slice is not modified.
//
// The append waits for the server's acknowledgement until ctx ends, and
// at most 10 s when ctx has no deadline, sending the commit again across a
// cluster's election (see "On a cluster" in the package doc); a failure
// that outlasts it wraps ErrUnavailable. An append that ends without one
// (a timeout, a lost connection) may or may not have been stored; an
// idempotent producer (WithProducer) can retry it safely.
func (s *Store) Append(ctx context.Context, stream string, events []Event, opts ...AppendOption) (AppendResult, error) {
	if s.cfg.observer != nil {
		return s.observedAppend(ctx, stream, events, opts)
	}
	return s.append(ctx, stream, events, opts)
}

// append is Append, unobserved.
func (s *Store) append(ctx context.Context, stream string, events []Event, opts []AppendOption) (AppendResult, error) {
	ac := appendConfig{sentUnits: -1}
	for _, o := range opts {
		if o != nil {
			o(&ac)
		}
	}
	var units []int
	if ac.producer != nil {
		units = []int{len(events)}
	}
	res, err := s.appendCommit(ctx, stream, events, &ac, units)
	if err != nil {
		return res, fmt.Errorf("eventstore: append to %q: %w", stream, err)
	}
	return res, nil
}

// prepareEvents validates events and returns a copy with IDs and times set.
func (s *Store) prepareEvents(events []Event) ([]Event, error) {
	if err := validateEvents(events); err != nil {
		return nil, err
	}
	if err := s.CheckAppendSize(len(events), eventsSize(events)); err != nil {
		return nil, err
	}
	out := make([]Event, len(events))
	copy(out, events)
	var now time.Time
	for i := range out {
		if out[i].ID == uuid.Nil || out[i].Time.IsZero() {
			now = time.Now()
			break
		}
	}
	if now.IsZero() {
		return out, nil
	}
	s.ids.fill(out, now)
	for i := range out {
		if out[i].Time.IsZero() {
			out[i].Time = now
		}
	}
	return out, nil
}

// An event's Time (and a snapshot's StoredAt) is stored as int64
// nanoseconds since 1970 (codec.go), which hold these instants and none
// outside them: beyond, UnixNano is undefined and the event would read
// back at another time.
var (
	minEventTime = time.Unix(0, math.MinInt64)
	maxEventTime = time.Unix(0, math.MaxInt64)
)

// storableTime reports whether t lies in the instants int64 nanoseconds
// since 1970 hold.
func storableTime(t time.Time) bool {
	return !t.Before(minEventTime) && !t.After(maxEventTime)
}

// validateEvents checks what an append's events must be.
func validateEvents(events []Event) error {
	if len(events) == 0 {
		return fmt.Errorf("%w: no events", ErrInvalidEvent)
	}
	if len(events) > MaxEventsPerAppend {
		return fmt.Errorf("%w: %d events, at most %d per append", ErrTooLarge, len(events), MaxEventsPerAppend)
	}
	for i := range events {
		if events[i].Type == "" {
			return fmt.Errorf("%w: event %d has no type", ErrInvalidEvent, i)
		}
		if t := events[i].Time; !t.IsZero() && !storableTime(t) {
			return fmt.Errorf("%w: event %d's time %s is outside 1677-09-21 to 2262-04-11 (int64 nanoseconds since 1970)", ErrInvalidEvent, i, t.Format(time.RFC3339Nano))
		}
		for k := range events[i].Metadata {
			if k == "" {
				return fmt.Errorf("%w: event %d has an empty metadata key", ErrInvalidEvent, i)
			}
		}
	}
	return nil
}

// eventsSize is what CheckAppendSize counts of events: the bytes of their
// types, data and metadata.
func eventsSize(events []Event) int {
	n := 0
	for i := range events {
		e := &events[i]
		n += len(e.Type) + len(e.Data)
		for k, v := range e.Metadata {
			n += len(k) + len(v)
		}
	}
	return n
}

// appendCommit stores one commit. For a producer append, units holds the
// number of events of each producer sequence number, from ac.producer's
// firstSeq on; a prefix of units already stored is dropped.
//
// Every wait in it is bounded: by ctx, and when ctx has no deadline by
// publishTimeout from the start of the append (the stream's lock, the
// publish and its retries; waits for the read index have their own bound,
// see waitFor).
func (s *Store) appendCommit(ctx context.Context, name string, events []Event, ac *appendConfig, units []int) (AppendResult, error) {
	res, err := s.appendLocked(ctx, name, events, ac, units)
	if err != nil || s.syncer == nil {
		return res, err
	}
	// SyncAlways: the commit is stored; it is durable once an fsync that
	// began after its acknowledgement has finished (groupsync.go). The
	// stream's lock is not held meanwhile: the next append to it shares
	// the fsync or waits for its own.
	if err := s.syncer.wait(ctx); err != nil {
		return AppendResult{}, fmt.Errorf("stored (offset %s), durability unknown: %w", res.Offset(), err)
	}
	return res, nil
}

// appendLocked stores one commit under the stream's lock.
func (s *Store) appendLocked(ctx context.Context, name string, events []Event, ac *appendConfig, units []int) (_ AppendResult, err error) {
	if s.closed.Load() {
		return AppendResult{}, ErrClosed
	}
	if err := s.awaitStart(ctx); err != nil {
		return AppendResult{}, err
	}
	if err := validateName(name); err != nil {
		return AppendResult{}, err
	}
	if ac.producer != nil {
		if err := validateProducerID(name, ac.producer.id); err != nil {
			return AppendResult{}, err
		}
	}
	if err := checkCommandID(ac.command, ac.hasCommand); err != nil {
		return AppendResult{}, err
	}
	if ac.hasLast {
		// Not Now: the expectation is one event, as a read or Head gave it.
		if _, err := ac.expectAt.position(); err != nil {
			return AppendResult{}, fmt.Errorf("ExpectLast: %w", err)
		}
	}
	if ac.cmdData != nil && (ac.command == "" || len(ac.cmdData) > MaxCommandDataLen) {
		return AppendResult{}, fmt.Errorf("%w: command data of %d bytes (at most %d, with a command id)", ErrInvalidOption, len(ac.cmdData), MaxCommandDataLen)
	}
	if len(events) > 0 || !ac.close && ac.command == "" {
		var err error
		if events, err = s.prepareEvents(events); err != nil {
			return AppendResult{}, err
		}
	}
	ctx, bound := boundAppend(ctx)
	defer bound.stop()
	if err := ctx.Err(); err != nil {
		// Done before the append asked anything: the caller's own end,
		// not the cluster's unavailability.
		return AppendResult{}, err
	}
	defer func() {
		if err != nil {
			err = outlasted(ctx, err)
		}
	}()
	lk, err := s.lockStripe(ctx, name)
	if err != nil {
		return AppendResult{}, err
	}
	defer lk.unlock()
	st, cached, err := s.appendState(ctx, name, ac)
	if err != nil {
		return AppendResult{}, err
	}
	subj := st.subj
	refreshed := false
	refresh := func() error {
		refreshed = true
		st, err = s.streamState(ctx, name, true)
		return err
	}
	var rf refusals
	for {
		if err := rf.beforeTry(ctx); err != nil {
			return AppendResult{}, err
		}
		// CommandOutcome may have found the id unrecorded at this very
		// head (one look-up for a command checked before it was decided):
		// the publish below expects the same last message, so a commit
		// stored since, here or in another process, still fails it and
		// the next attempt looks the id up again. The token is used once.
		checked := ac.command != "" && st.absent == ac.command && st.absentAt == st.h.subjSeq
		st.absent = ""
		if ac.command != "" && !checked {
			co, ok, err := s.commandDone(ctx, st, name, ac.command)
			if err != nil {
				return AppendResult{}, err
			}
			if ok && !refreshed && !s.soleWriter() {
				// A state read before another process's delete of the
				// stream still knows its command ids; only a fresh state
				// decides.
				if err := refresh(); err != nil {
					return AppendResult{}, err
				}
				continue
			}
			if ok {
				res := commandResult(name, co)
				res.Closed = st.h.closed
				return res, nil
			}
		}
		toStore, pm := events, (*producerMark)(nil)
		if ac.producer != nil {
			ps, known, err := s.producerState(ctx, st, name, ac.producer.id)
			if err != nil {
				return AppendResult{}, err
			}
			d := decideProducer(name, ps, known, ac.producer, len(units))
			if d.err == nil && ac.sentUnits >= 0 {
				// A Producer that claimed its epoch stores nothing as a
				// duplicate that it never sent: another instance wrote
				// those numbers.
				dup := d.skipUnits
				if d.duplicate {
					dup = len(units)
				}
				if dup > ac.sentUnits {
					d.err = &ProducerError{Kind: ErrStaleEpoch, Stream: name, Producer: ac.producer.id,
						Epoch: ac.producer.epoch, Seq: ac.producer.firstSeq + uint64(ac.sentUnits), CurrentEpoch: ps.epoch,
						Reason: "another instance of the producer holds this epoch"}
				}
			}
			if d.err != nil || d.duplicate {
				// A state read before another process's append may look
				// like a gap, or (a newer epoch claimed elsewhere) like a
				// duplicate; only a fresh state decides.
				if (d.err != nil || !s.soleWriter()) && !refreshed {
					if err := refresh(); err != nil {
						return AppendResult{}, err
					}
					continue
				}
				if d.err != nil {
					return AppendResult{}, d.err
				}
				return AppendResult{Stream: name, FirstVersion: st.h.version, Version: st.h.version,
					Duplicate: true, ProducerEpoch: ps.epoch, ProducerSeq: ps.lastSeq, Closed: st.h.closed}, nil
			}
			skip := 0
			for _, n := range units[:d.skipUnits] {
				skip += n
			}
			toStore = events[skip:]
			pm = &producerMark{id: ac.producer.id, epoch: ac.producer.epoch,
				firstSeq: ac.producer.firstSeq + uint64(d.skipUnits), lastSeq: ac.producer.firstSeq + uint64(len(units)) - 1}
		}
		if st.h.closed {
			if !refreshed && !s.soleWriter() {
				if err := refresh(); err != nil {
					return AppendResult{}, err
				}
				continue
			}
			if ac.close && len(events) == 0 && ac.producer == nil && !ac.hasExpect {
				// Closing a closed stream: its end, as it is.
				return AppendResult{Stream: name, FirstVersion: st.h.version, Version: st.h.version, Closed: true}, nil
			}
			return AppendResult{}, ErrStreamClosed
		}
		if ac.hasExpect && st.h.version != ac.expect || ac.hasLast && st.h.lastOffset() != ac.expectAt {
			if !refreshed {
				if err := refresh(); err != nil {
					return AppendResult{}, err
				}
				continue
			}
			return AppendResult{}, &ConcurrencyError{Stream: name, Expected: ac.expect, Actual: st.h.version,
				Remade: ac.hasLast && st.h.lastOffset() != ac.expectAt}
		}
		var flags byte
		if ac.close {
			flags = flagClosed
		}
		body := encodeCommitData(st.h.version+1, 0, pm, ac.command, ac.cmdData, flags, toStore)
		if limit := s.maxPayload - headerRoom; len(body) > limit {
			return AppendResult{}, fmt.Errorf("%w: %d bytes encoded, the server takes at most %d per append", ErrTooLarge, len(body), limit)
		}
		if !s.soleWriter() {
			s.inflight.add(name, inflightCommit{body: body, last: st.h.version + uint64(len(toStore)), producer: pm,
				command: ac.command, cmdData: ac.cmdData, count: uint32(len(toStore)), flags: flags})
		}
		seq, stamp, err := s.publish(ctx, subj, body, st.h.subjSeq, st.h.storedNs())
		if err != nil {
			s.inflight.remove(name)
		}
		var wrong *wrongLastError
		if errors.As(err, &wrong) {
			// Another message came first: read what was stored since the
			// head straight from the log, which is one round trip and
			// waits for nobody (a writer that has to wait for its index
			// after every lost race keeps losing against writers that do
			// not); fall back on the index for anything unexpected.
			before := st.h.subjSeq
			if err := s.catchUp(ctx, st, name, wrong.actual); err == nil {
				refreshed = true
				if err := rf.refused(ctx, st.h.subjSeq != before); err != nil {
					return AppendResult{}, err
				}
				continue
			} else if ctx.Err() != nil || errors.Is(err, ErrClosed) {
				return AppendResult{}, s.closedOr(err)
			}
			// The index that holds every commit up to the log's end knows
			// the message the server named, but for one window: a
			// tombstone stored after the refresh asked for the log's end
			// (another process deleted the stream again) and applied
			// meanwhile has taken the stream's commits out while the
			// position up to which the index holds every commit is still
			// below it, so the head read as of that position is an empty
			// stream. The next refresh waits for the log's end again, past
			// the tombstone.
			for try := 0; ; try++ {
				if err := refresh(); err != nil {
					return AppendResult{}, err
				}
				if st.h.subjSeq >= wrong.actual {
					break
				}
				if try == 2 {
					return AppendResult{}, fmt.Errorf("the read index does not know the last message on %q (log sequence %d)",
						name, wrong.actual)
				}
			}
			continue
		}
		if err != nil {
			// The commit may or may not be stored: forget what we know
			// of the stream, the log will tell.
			s.heads.drop(name)
			return AppendResult{}, err
		}
		s.indexAppend(indexRec{name: name, seq: seq, stored: stamp, body: body,
			last: st.h.version + uint64(len(toStore)), producer: pm, command: ac.command, cmdData: ac.cmdData,
			count: uint32(len(toStore)), flags: flags})
		s.inflight.remove(name) // after its record: a copy that finds no entry finds the record (inflight.go)
		s.noteAcked(seq)
		created := st.h.subjSeq == 0 // no message on the subject before this commit
		res := s.applied(st, name, seq, stamp, toStore, pm)
		if !cached {
			s.heads.put(name, st, created) // the server has vouched for st's head
		}
		if ac.close {
			st.h.closed, res.Closed = true, true
		}
		s.waits.notify(name)
		if ac.command != "" {
			st.setCommand(ac.command, commandOutcome{seq: seq, last: res.Version, count: uint32(len(toStore)), stored: stamp,
				data: ac.cmdData})
		}
		return res, nil
	}
}

// lazyDeadline is a context with a deadline whose timer is made only when
// something waits on Done: an uncontended append never makes one (the
// publish waits with a timer of its own, see parentDone).
type lazyDeadline struct {
	context.Context
	at     time.Time
	once   sync.Once
	made   atomic.Bool // ctx and cancel are set
	ctx    context.Context
	cancel context.CancelFunc
}

func (l *lazyDeadline) Deadline() (time.Time, bool) { return l.at, true }

func (l *lazyDeadline) Done() <-chan struct{} {
	l.once.Do(func() {
		l.ctx, l.cancel = context.WithDeadline(l.Context, l.at)
		l.made.Store(true)
	})
	return l.ctx.Done()
}

// Err agrees with Done: a context derived from l, whose Done fired after
// stop, must find an error.
func (l *lazyDeadline) Err() error {
	if err := l.Context.Err(); err != nil {
		return err
	}
	if l.made.Load() {
		if err := l.ctx.Err(); err != nil {
			return err
		}
	}
	if time.Now().Before(l.at) {
		return nil
	}
	return context.DeadlineExceeded
}

// stop releases the timer, if Done made one. A nil l (no bound was
// needed) has nothing to release.
func (l *lazyDeadline) stop() {
	if l == nil {
		return
	}
	l.once.Do(func() {})
	if l.cancel != nil {
		l.cancel()
	}
}

// appendBound returns ctx, or when it has no deadline a lazyDeadline
// publishTimeout from now: one bound for a whole append (the stream's lock,
// the publish, its retries). Its timer is made only if something has to
// wait on it; the publish itself waits with a timer of its own. Call stop
// when done.
func appendBound(ctx context.Context) (bounded context.Context, stop func()) {
	bounded, l := boundAppend(ctx)
	if l == nil {
		return bounded, func() {}
	}
	return bounded, l.stop
}

// boundAppend is appendBound for the paths every append takes, without
// the stop function's allocation: the caller stops the lazyDeadline it
// returns (nil when ctx had a deadline of its own).
func boundAppend(ctx context.Context) (context.Context, *lazyDeadline) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, nil
	}
	l := &lazyDeadline{Context: ctx, at: time.Now().Add(publishTimeout)}
	return l, l
}

// parentDone returns what a wait that has its own timer for ctx's deadline
// selects on: the Done of the context under a lazyDeadline, so that waiting
// does not make the lazy timer.
func parentDone(ctx context.Context) <-chan struct{} {
	if l, ok := ctx.(*lazyDeadline); ok {
		return l.Context.Done()
	}
	return ctx.Done()
}

// lockStream takes the lock that serializes this process's appends to a
// stream (JetStream's per-subject check still guards across processes),
// waiting until ctx ends. Appends to different streams rarely share a lock.
func (s *Store) lockStream(ctx context.Context, name string) (unlock func(), err error) {
	lk, err := s.lockStripe(ctx, name)
	if err != nil {
		return nil, err
	}
	return lk.unlock, nil
}

// stripeLock is a held stream lock (one of the store's stripes).
type stripeLock chan struct{}

func (lk stripeLock) unlock() { <-lk }

// lockStripe is lockStream for the append path, without a closure to
// allocate.
func (s *Store) lockStripe(ctx context.Context, name string) (stripeLock, error) {
	ch := s.stripeOf(name)
	select {
	case ch <- struct{}{}:
		return ch, nil
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err // done before it waited for anything
	}
	select {
	case ch <- struct{}{}:
		return ch, nil
	case <-ctx.Done():
		// The append ahead waits for the cluster: this one did too.
		return nil, outlasted(ctx, fmt.Errorf("waiting for another append to the stream: %w", ctx.Err()))
	}
}

// stripeOf returns the lock channel of the stripe name hashes to (FNV-1a).
func (s *Store) stripeOf(name string) chan struct{} {
	var h uint32 = 2166136261
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * 16777619
	}
	return s.stripe(h % stripeCount)
}

// stripe returns the lock channel of stripe i, made on its first use: a
// store makes only the stripes its streams hash to (a new process that
// made all 4,096 at Open spent 2.5–3.7 ms of the open on them).
func (s *Store) stripe(i uint32) chan struct{} {
	return loadOrMake(&s.stripes[i], func() chan struct{} { return make(chan struct{}, 1) })
}

// loadOrMake returns what p points to, making it with mk and storing it
// first when p is nil; of callers racing on a nil p, the first to store
// wins and every one gets its value.
func loadOrMake[T any](p *atomic.Pointer[T], mk func() T) T {
	if v := p.Load(); v != nil {
		return *v
	}
	v := mk()
	if p.CompareAndSwap(nil, &v) {
		return v
	}
	return *p.Load()
}

// MaxAppendBytes is the largest encoded append the store's server takes
// (its max_payload less the room of a publish's header). An append whose
// events' data comes near it may still fail with ErrTooLarge, since each
// event's type, id and metadata are encoded beside its data; a server that
// reads request bodies bounds them by it, so that it never reads what the
// store cannot take.
func (s *Store) MaxAppendBytes() int { return s.maxPayload - headerRoom }

// EventOverhead is the fewest bytes an event takes in an encoded append
// beside its type, data and metadata: its id, its time and the lengths
// before its fields.
const EventOverhead = 20

// CheckAppendSize returns an error matching ErrTooLarge when an append of
// n events, whose types, data and metadata keys and values take size bytes
// in all, cannot be stored whatever else they hold: more than
// MaxEventsPerAppend events, or more than MaxAppendBytes encoded at the
// least each event takes (EventOverhead). A caller that builds events from
// a request can ask before it builds them: a refused append then costs
// about what its request did, not the events and their encoding. Append
// asks it too, before it copies or encodes anything.
func (s *Store) CheckAppendSize(n, size int) error {
	if n > MaxEventsPerAppend {
		return fmt.Errorf("%w: %d events, at most %d per append", ErrTooLarge, n, MaxEventsPerAppend)
	}
	limit := s.MaxAppendBytes()
	if least := n*EventOverhead + size; least > limit {
		return fmt.Errorf("%w: %d events take at least %d bytes encoded, the server takes at most %d per append", ErrTooLarge, n, least, limit)
	}
	return nil
}

// headerRoom is what the publish's header takes out of the server's
// maximum payload, which counts headers and body together.
const headerRoom = 128

// refusals counts the refusals of one append's (or delete's) tries for a
// wrong last sequence on the stream, and paces the tries after them. A
// refusal is a race lost when the stream's head moved: a commit of
// another was stored first, and the next try is at once, then after
// contentionPause. Otherwise nothing came first: the leader refused the
// commit because another one on the stream's subject is still in process
// ("wrong last sequence" without a number), an earlier try of this one
// whose acknowledgement was lost or another process's. The cluster
// decides it in a millisecond, or, without a quorum, not until one is
// back: the next try waits for it, longer and longer (pendingPause),
// instead of asking hundreds of times a second.
type refusals struct {
	races   int // lost in a row to commits stored first
	pending int // refusals in a row for a commit still in process
}

// beforeTry waits, before a try, once races were lost in a row.
func (r *refusals) beforeTry(ctx context.Context) error {
	if r.races >= 4 {
		return contentionPause(ctx, r.races)
	}
	return nil
}

// refused records a refusal, moved saying whether the stream's head moved
// meanwhile, and waits as the next try must.
func (r *refusals) refused(ctx context.Context, moved bool) error {
	if moved {
		r.races, r.pending = r.races+1, 0
		return nil
	}
	r.pending++
	return pendingPause(ctx, r.pending)
}

// contentionPause waits a little, more after each lost race, before an
// append tries again after others (in other processes) stored commits on
// the same stream first: jitter breaks the lockstep of writers that keep
// colliding. The pause stays short (maxContentionPause): a writer that
// lost a few races and then sleeps long leaves the stream to the others
// and keeps losing. It gives up when ctx is done (for an append whose ctx
// has no deadline, publishTimeout after it began).
const maxContentionPause = time.Millisecond

func contentionPause(ctx context.Context, races int) error {
	d := time.Duration(rand.Int64N(int64(min(50*time.Microsecond<<min(races-4, 8), maxContentionPause)) + 1))
	if err := ctxsleep.Sleep(ctx, d); err != nil {
		return fmt.Errorf("append lost %d races for the stream to commits stored first: %w", races, err)
	}
	return nil
}

// pendingPause waits before an append tries again after the log's leader
// refused it because a commit on the stream is still in process (the
// pending'th refusal in a row). Such a commit is stored or dropped within
// a millisecond while the log has a quorum, so the first pauses are that
// short; without a quorum it stays in process until a majority is back,
// and the pauses double up to retryPauseMax (an append that retried at
// once spent a third of a core on its hundreds of tries a second). A ctx
// that ends meanwhile fails the append with ErrUnavailable.
func pendingPause(ctx context.Context, pending int) error {
	d := min(100*time.Microsecond<<min(pending-1, 12), retryPauseMax)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	if err := ctxsleep.Sleep(ctx, d); err != nil {
		return fmt.Errorf("a commit on the stream stayed in process at the log's leader (%d refusals): %w", pending, err)
	}
	return nil
}

// applied records a stored commit in the stream's cached state (which the
// head cache holds, or has evicted: then the next append reads the index)
// and builds the result.
func (s *Store) applied(st *streamState, name string, seq uint64, stamp int64, events []Event, pm *producerMark) AppendResult {
	first := st.h.version + 1
	if len(events) == 0 {
		// A close or a command's record without events: the stream's last
		// event stays the head's.
		st.h.subjSeq = seq
		res := AppendResult{Stream: name, FirstVersion: st.h.version, Version: st.h.version, StoredAt: time.Unix(0, stamp)}
		if pm != nil {
			st.setProducer(pm.id, producerState{epoch: pm.epoch, lastSeq: pm.lastSeq, commitSeq: seq})
			res.ProducerEpoch, res.ProducerSeq = pm.epoch, pm.lastSeq
		}
		return res
	}
	st.h = head{version: st.h.version + uint64(len(events)), seq: seq, subjSeq: seq, count: uint32(len(events)),
		stored: time.Unix(0, stamp)}
	res := AppendResult{Stream: name, FirstVersion: first, Version: st.h.version, Offsets: make([]Offset, len(events)),
		StoredAt: st.h.stored}
	// One string holds every offset; each Offset is a slice of it.
	var all strings.Builder
	all.Grow(offsetLen * len(events))
	var buf [offsetLen]byte
	for i := range events {
		eventPosition(seq, i, len(events)).put(buf[:])
		all.Write(buf[:])
	}
	for i, str := 0, all.String(); i < len(events); i++ {
		res.Offsets[i] = Offset(str[i*offsetLen : (i+1)*offsetLen])
	}
	if pm != nil {
		st.setProducer(pm.id, producerState{epoch: pm.epoch, lastSeq: pm.lastSeq, commitSeq: seq})
		res.ProducerEpoch, res.ProducerSeq = pm.epoch, pm.lastSeq
	}
	return res
}

// indexAppend hands an acknowledged commit to the index writer, before the
// append returns, so that the appender's next read sees it.
func (s *Store) indexAppend(r indexRec) {
	s.idxMu.Lock()
	x := s.idx
	s.idxMu.Unlock()
	x.w.submit(r)
}

// catchUp moves st forward along the stream's subject in the log, read by
// batched direct gets, up to the message at log sequence upTo (the
// subject's last sequence when the server refused a commit); with upTo 0,
// one batch. It does not chase commits stored meanwhile: on a busy stream
// there would always be more. A message that is not the stream's next
// commit is skipped, as every reader skips it, but the next append must
// expect it as the subject's last message.
func (s *Store) catchUp(ctx context.Context, st *streamState, name string, upTo uint64) error {
	for {
		err := s.subjectMsgs(ctx, st.subj, st.h.subjSeq+1, func(m logMsg) error {
			if upTo > 0 && m.seq > upTo {
				return errStop
			}
			c, err := decodeCommit(m.data)
			if err == nil && c.firstVersion != st.h.version+1 && !c.deletes {
				err = fmt.Errorf("%w: starts at version %d, the stream is at %d", ErrCorrupt, c.firstVersion, st.h.version)
			}
			if err != nil {
				s.log.Warn("eventstore: skipping a message that is not a commit of its stream",
					"stream", name, "seq", m.seq, "err", err)
				st.h.subjSeq = m.seq
				return nil
			}
			if c.deletes {
				// The stream was deleted meanwhile: what is known of it
				// is gone; the index knows the rest.
				return errTombstone
			}
			if c.count == 0 {
				st.h.subjSeq, st.h.closed = m.seq, st.h.closed || c.closes
			} else {
				st.h = head{version: c.lastVersion(), seq: m.seq, subjSeq: m.seq, count: uint32(c.count),
					stored: c.storedAt(m.stored), closed: c.closes}
			}
			if pm := c.producer; pm != nil {
				st.setProducer(pm.id, producerState{epoch: pm.epoch, lastSeq: pm.lastSeq, commitSeq: m.seq})
			}
			if c.command != "" {
				st.setCommand(c.command, commandOutcome{seq: m.seq, last: c.lastVersion(), count: uint32(c.count),
					stored: c.storedAt(m.stored).UnixNano(), data: c.commandData})
			}
			return nil
		})
		switch {
		case err == errStop:
			return nil
		case errors.Is(err, errMoreMsgs) && upTo > st.h.subjSeq:
			continue
		case errors.Is(err, errMoreMsgs):
			return nil
		case err == nil && st.h.subjSeq < upTo:
			return fmt.Errorf("%w: log sequence %d on %s not found", ErrCorrupt, upTo, st.subj)
		}
		return err
	}
}

// streamState is what the store knows of a stream's end: its head, the
// producer states valid at that head, and the command ids of commits the
// read index may not hold yet. It is read and written under the stream's
// lock.
type streamState struct {
	subj      string // the stream's subject
	h         head
	producers map[string]producerState // nil: none loaded yet
	// commands holds the command ids of the commits this store stored or
	// caught up with since the state was read from the index, which the
	// index holds up to h. Every commit up to h is therefore in the index
	// or here, unless the map overflowed (commandsLost): then the index is
	// waited for.
	commands     map[string]commandOutcome
	commandsLost bool
	// absent is the command id CommandOutcome last found unrecorded, at
	// the head whose subject's last message was absentAt: the append that
	// follows with that id, at that same head, need not look it up again.
	absent   string
	absentAt uint64
	// gen is the index generation the state was read from, or last found
	// complete up to h. A newer generation (Reindex, a rebuild) may not
	// hold this store's latest commits yet: it is waited for.
	gen int
}

// maxCachedCommands bounds the command ids cached per stream.
const maxCachedCommands = 1024

func (st *streamState) setCommand(id string, co commandOutcome) {
	if st.commands == nil {
		st.commands = make(map[string]commandOutcome)
	}
	if len(st.commands) >= maxCachedCommands {
		clear(st.commands)
		st.commandsLost = true
	}
	st.commands[id] = co
}

// commandDone looks up the outcome of a command id on the stream as of
// st's head: in the commits this store knows the index may not hold yet,
// then in the index.
func (s *Store) commandDone(ctx context.Context, st *streamState, name, id string) (commandOutcome, bool, error) {
	if co, ok := st.commands[id]; ok {
		return co, true, nil
	}
	target := uint64(0) // whatever the index holds: everything else is in st.commands
	if st.commandsLost {
		target = st.h.seq
	}
	for {
		var co commandOutcome
		var ok, stale bool
		err := s.withIndex(ctx, target, func(x *index, covered uint64) (err error) {
			if x.gen != st.gen {
				// Another generation than the one st was read from: it may
				// lack commits up to h that st.commands does not hold
				// either, until it has caught up with them.
				if covered < st.h.seq {
					stale = true
					return nil
				}
				st.gen = x.gen
			}
			if covered >= st.h.subjSeq {
				// The index holds every commit up to the head: the ids
				// kept for it are there too (and in its filter).
				clear(st.commands)
				st.commandsLost = false
			}
			if !x.filter.mayHold(name, id) {
				return nil // never recorded: no lookup
			}
			co, ok, err = x.command(name, id)
			return err
		})
		if err != nil {
			return commandOutcome{}, false, err
		}
		if stale {
			target = st.h.seq
			continue
		}
		if st.commandsLost {
			st.commandsLost = false
			clear(st.commands)
		}
		return co, ok, nil
	}
}

// checkCommandID checks a command id given (WithCommandID, CommandOutcome):
// 1 to MaxCommandIDLen bytes.
func checkCommandID(id string, given bool) error {
	switch {
	case given && id == "":
		return fmt.Errorf("%w: empty command id", ErrInvalidOption)
	case len(id) > MaxCommandIDLen:
		return fmt.Errorf("%w: command id of %d bytes, at most %d", ErrInvalidOption, len(id), MaxCommandIDLen)
	}
	return nil
}

// CommandOutcome returns the result of the append that stream recorded
// for command id (see WithCommandID), and false if it recorded none: what
// an Append with WithCommandID(id) would return as a duplicate. It sees
// every append acknowledged before the call. When it finds none, the next
// Append of id to the stream, if nothing was stored on the stream in
// between, relies on this look-up instead of making its own: a commit
// stored meanwhile, by this store or another process, still makes that
// Append look again, so the id stays recorded at most once. An empty or
// too long id is an error wrapping ErrInvalidOption.
func (s *Store) CommandOutcome(ctx context.Context, stream, id string) (AppendResult, bool, error) {
	if s.closed.Load() {
		return AppendResult{}, false, ErrClosed
	}
	if err := validateName(stream); err != nil {
		return AppendResult{}, false, fmt.Errorf("eventstore: command outcome on %q: %w", stream, err)
	}
	if err := checkCommandID(id, true); err != nil {
		return AppendResult{}, false, fmt.Errorf("eventstore: command outcome on %q: %w", stream, err)
	}
	ctx, bound := boundAppend(ctx)
	defer bound.stop()
	lk, err := s.lockStripe(ctx, stream)
	if err != nil {
		return AppendResult{}, false, fmt.Errorf("eventstore: command outcome on %q: %w", stream, err)
	}
	defer lk.unlock()
	st, err := s.streamState(ctx, stream, !s.soleWriter())
	if err != nil {
		return AppendResult{}, false, fmt.Errorf("eventstore: command outcome on %q: %w", stream, err)
	}
	co, ok, err := s.commandDone(ctx, st, stream, id)
	if err != nil {
		return AppendResult{}, false, err
	}
	if !ok {
		st.absent, st.absentAt = id, st.h.subjSeq
		return AppendResult{}, false, nil
	}
	res := commandResult(stream, co)
	res.Closed = st.h.closed
	return res, true, nil
}

// commandResult is the result of an append whose command id was stored
// already: the result of the commit recorded for it.
func commandResult(name string, co commandOutcome) AppendResult {
	first := co.last - uint64(co.count) + 1
	if co.count == 0 {
		first = co.last // a close or a command's record without events, as applied reports it
	}
	res := AppendResult{Stream: name, FirstVersion: first, Version: co.last, Duplicate: true,
		Offsets: make([]Offset, co.count), StoredAt: time.Unix(0, co.stored), CommandData: co.data}
	for i := range res.Offsets {
		res.Offsets[i] = eventPosition(co.seq, i, int(co.count)).offset()
	}
	return res
}

// maxCachedProducers bounds the producer states cached per stream.
const maxCachedProducers = 1024

func (st *streamState) setProducer(id string, ps producerState) {
	if st.producers == nil || len(st.producers) >= maxCachedProducers {
		st.producers = make(map[string]producerState)
	}
	st.producers[id] = ps
}

// streamState returns the cached state of a stream, or reads it from the
// index once the index holds every acknowledged commit. fresh forces the
// read and first asks the server for the log's end, so that commits of
// other processes, or of an append whose outcome was unknown, are seen.
func (s *Store) streamState(ctx context.Context, name string, fresh bool) (*streamState, error) {
	if !fresh {
		if st, ok := s.heads.get(name); ok {
			return st, nil
		}
	}
	subj, err := subjectFor(s.prefix, name)
	if err != nil {
		return nil, err
	}
	var target uint64
	if fresh {
		target, err = s.logLastSeq(ctx)
		target = max(target, s.lastAcked.Load())
	} else {
		target, err = s.readTarget(ctx)
	}
	if err != nil {
		return nil, err
	}
	st := &streamState{subj: subj}
	if err := s.readHead(ctx, st, name, target); err != nil {
		return nil, err
	}
	s.heads.put(name, st, false)
	return st, nil
}

// readHead reads st's head from the index once it holds every commit up
// to target, and notes the index generation it was read from.
func (s *Store) readHead(ctx context.Context, st *streamState, name string, target uint64) error {
	return s.withIndex(ctx, target, func(x *index, covered uint64) (err error) {
		st.h, err = x.head(name, covered)
		st.gen = x.gen
		return err
	})
}

// appendState returns the state an append starts from: the cached one or,
// for a stream of which the index holds no message at all, an empty state
// read without waiting for the index to hold every commit acknowledged
// before (false: not cached; the append caches it once the server has
// taken its commit). A brand new stream, most of them, is then appended
// at once, where streamState would wait for the index writer. The
// server's check of the subject's last message is the truth: if the
// stream has messages the index does not hold yet (appended here a moment
// ago and evicted from the cache, or by another process), the publish
// fails with the wrong last sequence and the append catches up from the
// log, learning their command ids and producer states before it looks
// again; nothing is decided from the empty state that a stream with
// messages would decide otherwise without that check. An append that
// expects version 0 (the stream must be new) starts from the empty state
// without asking the index at all: if the stream is not new, the same
// check and catch-up make it a *ConcurrencyError, or a duplicate of a
// command id or producer sequence the stream recorded.
func (s *Store) appendState(ctx context.Context, name string, ac *appendConfig) (*streamState, bool, error) {
	if st, ok := s.heads.get(name); ok {
		return st, true, nil
	}
	subj, err := subjectFor(s.prefix, name)
	if err != nil {
		return nil, false, err
	}
	st := &streamState{subj: subj}
	if ac.hasExpect && ac.expect == 0 {
		return st, false, nil
	}
	if err := s.readHead(ctx, st, name, 0); err != nil {
		return nil, false, err
	}
	if st.h.subjSeq == 0 {
		return st, false, nil
	}
	st, err = s.streamState(ctx, name, false)
	return st, true, err
}

// producerState returns a producer's state as of the stream state's head.
func (s *Store) producerState(ctx context.Context, st *streamState, name, id string) (producerState, bool, error) {
	if ps, ok := st.producers[id]; ok {
		return ps, true, nil
	}
	var ps producerState
	var ok bool
	err := s.withIndex(ctx, st.h.seq, func(x *index, _ uint64) (err error) {
		ps, ok, err = x.producer(name, id)
		return err
	})
	if err != nil || !ok {
		return producerState{}, false, err
	}
	st.setProducer(id, ps)
	return ps, true, nil
}

// CheckProducerID returns nil if id can name an idempotent producer
// (WithProducer, Store.Producer), and otherwise a *ProducerError matching
// ErrInvalidProducer that says why: the rule those apply, for a caller
// that takes ids from outside (a request's header) and must refuse a bad
// one before anything else is decided.
func CheckProducerID(id string) error { return validateProducerID("", id) }

func validateProducerID(stream, id string) error {
	if id == "" || len(id) > 256 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return &ProducerError{Kind: ErrInvalidProducer, Stream: stream, Producer: id,
			Reason: "producer id must be 1 to 256 bytes without control characters"}
	}
	return nil
}
