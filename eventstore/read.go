package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rewindhq/rewind/internal/ctxsleep"
)

// bounds is a parsed set of ReadOptions: which events of an ordered
// sequence to skip and where to stop.
type bounds struct {
	after       position // only events whose offset is after this
	fromNow     bool     // From(Now): resolved by the caller
	fromVersion uint64
	toVersion   uint64
	toPos       position
	hasToPos    bool
	toTime      time.Time
	ended       bool // an upper bound was reached
	borrow      bool // BorrowData: events' data may alias the index's buffers
}

func parseBounds(opts []ReadOption) (bounds, error) {
	var rc readConfig
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&rc); err != nil {
			return bounds{}, err
		}
	}
	var b bounds
	if rc.from == Now {
		b.fromNow = true
	} else if rc.from != "" {
		b.after, _ = rc.from.position() // checked by From
	}
	b.fromVersion, b.toVersion, b.toTime = rc.fromVersion, rc.toVersion, rc.toTime
	b.borrow = rc.borrow
	if rc.toOffset != "" {
		b.toPos, _ = rc.toOffset.position()
		b.hasToPos = true
	}
	if b.toVersion > 0 && b.fromVersion > b.toVersion {
		return bounds{}, fmt.Errorf("%w: FromVersion(%d) is after ToVersion(%d)", ErrInvalidOption, b.fromVersion, b.toVersion)
	}
	return b, nil
}

// check says whether an event at pos (its offset) is skipped, or ends the
// read.
func (b *bounds) check(e *Event, pos position) (skip, stop bool) {
	if !b.after.less(pos) || e.Version < b.fromVersion {
		return true, false
	}
	if b.toVersion > 0 && e.Version > b.toVersion ||
		b.hasToPos && b.toPos.less(pos) ||
		!b.toTime.IsZero() && e.StoredAt.After(b.toTime) {
		b.ended = true
		return false, true
	}
	return false, false
}

// errStop ends a consume loop without an error.
var errStop = errors.New("stop")

// consumeSpec says what part of the log a consume loop delivers.
type consumeSpec struct {
	filters  []string
	startSeq uint64 // first log sequence (1 or 0: the start)
	upTo     uint64 // bounded: stop after this sequence
	bounded  bool
	pull     int
	// kick, for the tailer following the log, receives a signal when a
	// reader waits for the index to reach what the log's leader holds.
	kick <-chan struct{}
	// createWait, when set, bounds the tries of making the consumer
	// (unavailableWait otherwise).
	createWait time.Duration
}

// consume delivers log messages in order through a consumer of the log
// that the store recreates from the next message whenever it is lost, and
// deletes the server-side consumer when done. Consumers are for reading the
// log in log order (a category, everything, the tailer, the live part of a
// subscription): their cost follows the part of the log they cover. One
// stream's history is read from the index instead.
//
// It does what the jetstream package's ordered consumer does (an
// ephemeral, single-replica consumer in memory, a gap in its deliveries
// makes a new one), on the cluster's timescale rather than the package's:
// the consumer lives on one node, and when that node dies its heartbeats
// stop; two missed heartbeats (about a second) and a new consumer is made
// with short tries across the election (retry), where the ordered
// consumer's waits add up to tens of seconds.
func (s *Store) consume(ctx context.Context, spec consumeSpec, fn func(jetstream.Msg, *jetstream.MsgMetadata) error) error {
	if err := s.awaitStart(ctx); err != nil {
		return err
	}
	if spec.bounded && (spec.upTo == 0 || spec.startSeq > spec.upTo) {
		return nil
	}
	next := max(spec.startSeq, 1)
	for lost := 0; ; lost++ {
		again, err := s.consumeFrom(ctx, spec, &next, fn)
		if !again {
			return err
		}
		s.log.Info("eventstore: log consumer lost, making a new one", "from", next, "err", err)
		if lost > 0 {
			// Lost again at once: a short pause, as between tries.
			if err := ctxsleep.Sleep(ctx, retryPauseMax); err != nil {
				return err
			}
		}
	}
}

// consumerHeartbeat is how often a consumer's server says it is alive
// while it has nothing to deliver; two missed ones and it is lost.
const consumerHeartbeat = 500 * time.Millisecond

// consumerStall is how long the tailer's consumer may deliver nothing
// while a reader waits for the index (so the log's leader holds more than
// the index) before it is replaced. An R1 consumer is placed on any of
// the log's replicas, and one that lags (restarted, catching up after an
// election) delivers late though its heartbeats come on time; a new
// consumer is likely placed on another.
const consumerStall = 2 * time.Second

// errConsumerStalled ends a consumer that consumerStall found stalled.
var errConsumerStalled = errors.New("the consumer delivered nothing while a reader waited")

// consumeFrom reads the log through one consumer from *next on, moving
// *next past each message delivered. again reports that the consumer was
// lost (its node died, a delivery went missing) and a new one is to go on.
func (s *Store) consumeFrom(ctx context.Context, spec consumeSpec, next *uint64,
	fn func(jetstream.Msg, *jetstream.MsgMetadata) error) (again bool, err error) {
	if spec.bounded && *next > spec.upTo {
		return false, nil
	}
	cfg := jetstream.ConsumerConfig{
		Name:              s.consumerName(),
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       *next,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: 30 * time.Second,
		Replicas:          1,
		MemoryStorage:     true,
	}
	if len(spec.filters) == 1 {
		cfg.FilterSubject = spec.filters[0]
	} else {
		cfg.FilterSubjects = spec.filters
	}
	var cons jetstream.Consumer
	cctx := ctx
	if spec.createWait > 0 {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(ctx, spec.createWait)
		defer cancel()
	}
	err = retry(cctx, func(ctx context.Context) (err error) {
		cons, err = s.rjs.CreateOrUpdateConsumer(ctx, s.jsName, cfg)
		return err
	})
	if err != nil {
		return false, s.closedOr(fmt.Errorf("eventstore: read the log: %w", err))
	}
	pull := spec.pull
	if pull == 0 {
		pull = 1024
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(pull), jetstream.PullHeartbeat(consumerHeartbeat),
		jetstream.WithMessagesErrOnMissingHeartbeat(true))
	if err != nil {
		return false, s.closedOr(fmt.Errorf("eventstore: read the log: %w", err))
	}
	// A lost consumer's node is likely gone; a lagging one's is there.
	defer func() { s.stopConsumer(cons, it, again && !errors.Is(err, errReplicaLags)) }()
	if info := cons.CachedInfo(); spec.bounded && info != nil && info.NumPending == 0 {
		return s.replicaLags(ctx, spec, *next)
	}
	var delivered uint64
	nextCtx := ctx
	var lastDelivery atomic.Int64 // Unix ns
	if spec.kick != nil {
		var cancel context.CancelCauseFunc
		nextCtx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		lastDelivery.Store(time.Now().UnixNano())
		go watchConsumer(nextCtx, cancel, spec.kick, &lastDelivery)
	}
	for {
		msg, err := it.Next(jetstream.NextContext(nextCtx))
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if cause := context.Cause(nextCtx); errors.Is(cause, errConsumerStalled) {
				return true, cause
			}
			if s.closed.Load() || s.rnc.IsClosed() {
				return false, ErrClosed
			}
			if consumerLost(err) {
				return true, err
			}
			return false, fmt.Errorf("eventstore: read the log: %w", err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return false, s.closedOr(fmt.Errorf("eventstore: read the log: %w", err))
		}
		if meta.Sequence.Consumer != delivered+1 {
			return true, fmt.Errorf("delivery %d after %d", meta.Sequence.Consumer, delivered)
		}
		delivered = meta.Sequence.Consumer
		if spec.kick != nil {
			lastDelivery.Store(time.Now().UnixNano())
		}
		if spec.bounded && meta.Sequence.Stream > spec.upTo {
			return false, nil
		}
		*next = meta.Sequence.Stream + 1
		if err := fn(msg, meta); err != nil {
			if err == errStop {
				return false, nil
			}
			return false, err
		}
		if spec.bounded && meta.Sequence.Stream >= spec.upTo {
			return false, nil
		}
		if spec.bounded && meta.NumPending == 0 {
			return s.replicaLags(ctx, spec, *next)
		}
	}
}

// errReplicaLags ends a bounded read's consumer whose replica of the log
// holds less than the log's leader did when the read began.
var errReplicaLags = errors.New("the consumer's replica of the log lags its leader")

// replicaLags decides the end of a bounded read whose consumer has nothing
// more to deliver from next on (it reported no message pending) though
// next is not past the read's bound. The consumer counts what its own
// replica of the log holds, and an R1 consumer is placed on any of the
// log's replicas: one that lags (restarted, catching up after an election)
// reports nothing pending while the leader, whose last sequence bounds the
// read, holds more. Taken as the end, that read silently missed the last
// commits of the log (a ReadAll, a ReadCategory, the log part after the
// index). So on a replicated log the leader is asked whether it holds a
// message of the read's subjects from next up to the bound: if it does, the
// consumer is replaced (again, errReplicaLags), from next; if not, the read
// is complete. A single replica is its own leader and is not asked.
func (s *Store) replicaLags(ctx context.Context, spec consumeSpec, next uint64) (again bool, err error) {
	if s.replicas <= 1 || next > spec.upTo {
		return false, nil
	}
	subjects := spec.filters
	if len(subjects) == 0 {
		subjects = []string{s.jsName + ".>"}
	}
	for _, subj := range subjects {
		seq, ok, err := s.leaderNextSeq(ctx, subj, next)
		if err != nil {
			return false, s.closedOr(fmt.Errorf("eventstore: read the log: %w", err))
		}
		if ok && seq <= spec.upTo {
			s.log.Info("eventstore: log consumer's replica lags the leader", "delivered_to", next-1, "leader_has", seq, "up_to", spec.upTo)
			return true, fmt.Errorf("%w: it has nothing from %d on, the leader has %d", errReplicaLags, next, seq)
		}
	}
	return false, nil
}

// leaderNextSeq returns the sequence of the log's first message on subj
// from seq on, as the log's leader holds it (the stream's message-get API,
// which only the leader answers; a direct get, answered by any replica,
// could come from a lagging one). ok is false when there is none.
func (s *Store) leaderNextSeq(ctx context.Context, subj string, seq uint64) (next uint64, ok bool, err error) {
	req, err := json.Marshal(struct {
		Seq     uint64 `json:"seq"`
		NextFor string `json:"next_by_subj"`
	}{seq, subj})
	if err != nil {
		return 0, false, err
	}
	err = retry(ctx, func(ctx context.Context) error {
		m, err := s.rnc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+s.jsName, req)
		if err != nil {
			return err
		}
		var resp struct {
			Error   *jetstream.APIError `json:"error"`
			Message *struct {
				Seq uint64 `json:"seq"`
			} `json:"message"`
		}
		if err := json.Unmarshal(m.Data, &resp); err != nil {
			return fmt.Errorf("message get: %w", err)
		}
		switch {
		case resp.Error != nil && resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound:
			next, ok = 0, false
		case resp.Error != nil:
			return resp.Error
		case resp.Message == nil:
			return errors.New("message get: an answer without a message")
		default:
			next, ok = resp.Message.Seq, true
		}
		return nil
	})
	return next, ok, err
}

// watchConsumer ends a consumer (cancel with errConsumerStalled) that
// delivers nothing for consumerStall after a kick: a reader waits for
// what the log's leader holds and the consumer does not bring it. It
// returns when ctx ends.
func watchConsumer(ctx context.Context, cancel context.CancelCauseFunc, kick <-chan struct{}, lastDelivery *atomic.Int64) {
	var check <-chan time.Time
	var kickedAt time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
			if check == nil {
				kickedAt = time.Now()
				check = time.After(consumerStall)
			}
		case <-check:
			check = nil
			if time.Unix(0, lastDelivery.Load()).Before(kickedAt) {
				cancel(errConsumerStalled)
				return
			}
		}
	}
}

// consumerLost reports whether an error of a consumer's iterator means the
// consumer is gone or unreachable: a new one is to be made.
func consumerLost(err error) bool {
	return transient(err) || errors.Is(err, jetstream.ErrNoHeartbeat) ||
		errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, jetstream.ErrConsumerLeadershipChanged) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, jetstream.ErrServerShutdown)
}

// consumerName returns a new name for one of the store's consumers: a
// name, rather than one the server picks, makes a try that went
// unanswered and is sent again create the same consumer.
func (s *Store) consumerName() string {
	return "rewind_" + s.consumerPrefix + "_" + strconv.FormatUint(s.consumerSeq.Add(1), 10)
}

// stopConsumer stops the iterator and deletes the server's consumer (one
// short try: a consumer left behind goes after its inactivity threshold).
// A lost one is not asked for: its node is likely gone.
func (s *Store) stopConsumer(cons jetstream.Consumer, it jetstream.MessagesContext, lost bool) {
	it.Stop()
	info := cons.CachedInfo()
	if lost || info == nil || s.rnc.IsClosed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*tryTimeout)
	defer cancel()
	_ = s.rjs.DeleteConsumer(ctx, s.jsName, info.Name)
}

// Read returns the events of one stream in version order, from the start
// or from the bound set by From or FromVersion, to the stream's end when
// the read began or to the bound set by ToVersion, ToOffset or ToTime.
// It is served by the read index: its cost follows the stream's size, not
// the log's, and it sees every append acknowledged before it began, in this
// process or (with Connect) any other. A stream that does not exist reads
// as empty. Errors (a bad name, a bad option, a cancelled ctx) come as the
// iterator's last pair.
func (s *Store) Read(ctx context.Context, stream string, opts ...ReadOption) iter.Seq2[Event, error] {
	if s.cfg.observer != nil {
		return s.observedRead(ctx, stream, opts)
	}
	return s.read(ctx, stream, opts)
}

// read is Read, unobserved.
func (s *Store) read(ctx context.Context, stream string, opts []ReadOption) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		b, err := parseBounds(opts)
		if err == nil {
			err = validateName(stream)
		}
		if err == nil {
			// The index, once it holds the read's target, is read
			// without waiting, and checks ctx only every 256 events.
			err = ctx.Err()
		}
		if err != nil {
			yield(Event{}, fmt.Errorf("eventstore: read %q: %w", stream, err))
			return
		}
		if b.fromNow {
			return
		}
		if _, err := s.readIndexed(ctx, stream, &b, yield); err != nil && err != errStop {
			yield(Event{}, fmt.Errorf("eventstore: read %q: %w", stream, err))
		}
	}
}

// readIndexed reads one stream from the index, after it has caught up with
// every acknowledged append. It returns the log position up to which the
// index was complete (the read yields nothing above it), and whether the
// caller's yield asked to stop (then err is errStop and yield must not be
// called again).
func (s *Store) readIndexed(ctx context.Context, stream string, b *bounds, yield func(Event, error) bool) (covered uint64, err error) {
	target, err := s.readTarget(ctx)
	if err != nil {
		return 0, err
	}
	for attempt := 0; ; attempt++ {
		x, err := s.acquire(ctx, target)
		if err != nil {
			return 0, err
		}
		covered = x.position()
		done, err := s.deliverIndexed(ctx, x, attempt, b, yield, func(fn func(Event, position) bool) error {
			return x.readStream(stream, b, covered, fn)
		})
		if done {
			return covered, err
		}
		// Rebuilt: go on from the last event delivered.
	}
}

// deliverIndexed runs one read of the index x, which read does by calling
// fn with each event and its position, and hands the events to yield with
// the checks every read of the index makes: ctx every 256 events, the
// store's close, and b's lower bound moved past each event delivered (a
// retry, or the log after the index, resumes there). It releases x. done
// is false only when x was damaged and has been rebuilt: the caller reads
// again. Otherwise err is the read's outcome, errStop when yield asked to
// stop (then yield must not be called again).
func (s *Store) deliverIndexed(ctx context.Context, x *index, attempt int, b *bounds, yield func(Event, error) bool,
	read func(fn func(Event, position) bool) error) (done bool, err error) {
	n := 0
	stopped := false
	var cause error
	err = read(func(e Event, pos position) bool {
		if n++; n%256 == 0 && ctx.Err() != nil {
			cause = ctx.Err()
			return false
		}
		b.after = pos
		if !yield(e, nil) {
			stopped = true
			return false
		}
		if s.closed.Load() {
			cause = ErrClosed
			return false
		}
		return true
	})
	gen := x.gen
	s.release(x)
	switch {
	case cause != nil:
		return true, cause
	case stopped:
		return true, errStop
	case err == nil:
		return true, nil
	case attempt > 0 || !s.rebuildAfter(ctx, gen, err):
		return true, err
	}
	return false, nil
}

// Tail returns the offset of the log's current end: reading or subscribing
// From it delivers exactly the events appended afterwards, to any stream.
// Unlike From(Now), which is resolved when the read starts, the position is
// fixed when Tail returns. It is the position after the log's last
// commit, or Start for a log with none. When that commit holds events, as
// an append's does, Tail is the offset of the log's last event (it equals
// that event's Offset, its stream's Head and the last offset of the
// append that stored it). A commit without events (a delete's tombstone,
// a close without events, a command id recorded without events) moves it
// on to a position no event carries: every event stored before it has a
// smaller offset, every one stored after a larger. So a consumer that
// has handled every event up to Tail compares with >=, not ==: its last
// offset may lie before Tail with nothing left between. Head is one
// stream's end; Tail is the whole log's.
func (s *Store) Tail(ctx context.Context) (Offset, error) {
	if s.closed.Load() {
		return "", ErrClosed
	}
	last, err := s.logLastSeq(ctx)
	if err != nil {
		return "", fmt.Errorf("eventstore: tail: %w", err)
	}
	return commitEnd(last).offset(), nil
}

// Head describes the end of one stream.
type Head struct {
	// Version is the stream's current version: the number of events in it
	// (0 when the stream has none).
	Version uint64
	// Offset is the offset of the stream's last event, the same string as
	// that event's Offset; Start for a stream with no events (reading the
	// stream From it reads the whole stream).
	Offset Offset
	// StoredAt is when the last event was stored (zero when none).
	StoredAt time.Time
	// Closed reports that the stream is closed (see WithClose).
	Closed bool
}

// Head returns the stream's current version and the offset of its last
// event, seeing every append acknowledged before the call and agreeing
// with what Read returns. It reads them from the index, or, when this
// store is the log's only writer and has appended to the stream lately,
// from what its appends keep, without waiting for the index. Head is one stream's end; Tail is the
// whole log's.
func (s *Store) Head(ctx context.Context, stream string) (Head, error) {
	if err := validateName(stream); err != nil {
		return Head{}, fmt.Errorf("eventstore: head of %q: %w", stream, err)
	}
	if s.closed.Load() {
		return Head{}, fmt.Errorf("eventstore: head of %q: %w", stream, ErrClosed)
	}
	if h, ok := s.cachedHead(stream); ok {
		return h.public(), nil
	}
	target, err := s.readTarget(ctx)
	if err != nil {
		return Head{}, fmt.Errorf("eventstore: head of %q: %w", stream, err)
	}
	h, err := s.indexHead(ctx, stream, target)
	if err != nil {
		return Head{}, fmt.Errorf("eventstore: head of %q: %w", stream, err)
	}
	return h.public(), nil
}

// cachedHead returns the head the append path keeps for stream, when this
// store is the log's only writer (its own server, no listener) and no
// append to the stream is in flight: every commit of the stream was then
// made here and is in that head, so Head need not wait for the index nor
// read it (an HTTP append asks for the head of its stream first). An
// append whose outcome was not known, or a delete, drops the kept head.
func (s *Store) cachedHead(stream string) (head, bool) {
	if !s.soleWriter() {
		return head{}, false
	}
	ch := s.stripeOf(stream)
	select {
	case ch <- struct{}{}:
	default:
		return head{}, false // an append is in flight: the index decides
	}
	defer stripeLock(ch).unlock()
	st, ok := s.heads.get(stream)
	if !ok {
		return head{}, false
	}
	return st.h, true
}

func (h head) public() Head {
	if h.version == 0 {
		return Head{Offset: Start, Closed: h.closed}
	}
	return Head{Version: h.version, Offset: commitEnd(h.seq).offset(), StoredAt: h.stored, Closed: h.closed}
}

func (s *Store) indexHead(ctx context.Context, stream string, target uint64) (h head, err error) {
	err = s.withIndex(ctx, target, func(x *index, covered uint64) error {
		h, err = x.head(stream, covered)
		return err
	})
	return h, err
}

// ReadCategory returns the events of every stream in a category (the first
// segment of stream names: "orders" for "orders/123"), in log order, up to
// the log's end when the read began. Bounds: From, ToOffset, ToTime. It
// reads as ReadAll does, and its cost follows the log's size up to the
// read's bounds, not the category's.
func (s *Store) ReadCategory(ctx context.Context, category string, opts ...ReadOption) iter.Seq2[Event, error] {
	return s.observeLogRead(ctx, kindCategory, category, func(yield func(Event, error) bool) {
		filters, err := categoryFilters(s.prefix, category)
		if err != nil {
			yield(Event{}, fmt.Errorf("eventstore: read category %q: %w", category, err))
			return
		}
		sel := logSelection{filters: filters, indexed: true, match: matchCategory(category)}
		if err := s.readLog(ctx, sel, opts, false, yield); err != nil {
			yield(Event{}, fmt.Errorf("eventstore: read category %q: %w", category, err))
		}
	})
}

// ReadAll returns every event in the log, in log order, up to the log's end
// when the read began. Bounds: From, ToOffset, ToTime. It is served by the
// read index's log-ordered copy of the commits as far as the index holds
// every commit, and by the log itself after that, without waiting for the
// index; the events are the same either way (see the package doc).
func (s *Store) ReadAll(ctx context.Context, opts ...ReadOption) iter.Seq2[Event, error] {
	return s.observeLogRead(ctx, kindAll, "", func(yield func(Event, error) bool) {
		if err := s.readLog(ctx, logSelection{indexed: true}, opts, false, yield); err != nil {
			yield(Event{}, fmt.Errorf("eventstore: read all: %w", err))
		}
	})
}

// logSelection is the part of the log a log-ordered read delivers.
type logSelection struct {
	// filters are the subjects to consume (none: the whole log, which is
	// much cheaper for the server than a wildcard that matches every
	// subject; messages that are not commits of a stream are skipped).
	filters []string
	// indexed: read the index's log-ordered copy, selecting streams with
	// match, as far as the index covers the log, and the log after that.
	indexed bool
	match   nameMatch
}

// readLog reads the part of the log sel selects, bounded at the log's
// current end or live. It returns nil when yield asked to stop.
func (s *Store) readLog(ctx context.Context, sel logSelection, opts []ReadOption, live bool, yield func(Event, error) bool) error {
	b, err := parseBounds(opts)
	if err != nil {
		return err
	}
	if b.fromVersion > 0 || b.toVersion > 0 {
		return fmt.Errorf("%w: versions bound one stream; use offsets or times across streams", ErrInvalidOption)
	}
	if s.closed.Load() {
		return ErrClosed
	}
	var last uint64
	if !live || b.fromNow {
		if last, err = s.logLastSeq(ctx); err != nil {
			return err
		}
	}
	if b.fromNow {
		if !live {
			return nil
		}
		b.after = commitEnd(last)
	}
	spec := consumeSpec{filters: sel.filters, upTo: last, bounded: !live}
	var base uint64
	if sel.indexed {
		covered, err := s.readIndexOrdered(ctx, sel.match, &b, last, live, yield)
		if err == errStop {
			return nil
		}
		if err != nil || b.ended {
			return err
		}
		spec.startSeq, base = covered+1, covered
	}
	return s.followLog(ctx, spec, &b, base, yield)
}

// readIndexOrdered reads the index's log-ordered copy from b's lower bound
// up to the position the index covers (no further than upTo, unless live),
// without waiting for the index: what it does not cover yet, the log gives.
// It returns that position, and errStop when yield asked to stop (then
// yield must not be called again). A damaged index is rebuilt, and the read
// goes on after the last event delivered.
func (s *Store) readIndexOrdered(ctx context.Context, m nameMatch, b *bounds, upTo uint64, live bool, yield func(Event, error) bool) (covered uint64, err error) {
	for attempt := 0; ; attempt++ {
		x, err := s.holdPastTombstone(ctx)
		if err != nil {
			return 0, err
		}
		covered = x.position()
		if !live {
			covered = min(covered, upTo)
		}
		done, err := s.deliverIndexed(ctx, x, attempt, b, yield, func(fn func(Event, position) bool) error {
			return x.readOrdered(m, b, covered, fn)
		})
		if done {
			return covered, err
		}
	}
}

// holdPastTombstone is hold, once the index holds the newest delete this
// store made. The delete purged the stream's commits from the log before
// it returned, but the index's log-ordered copy keeps them until it
// applies the tombstone: a copy read short of it, then the purged log
// after it, would yield deleted events that Read no longer gives. The
// tombstone was handed to the index with the delete, so the wait is the
// index's own apply, and only right after a delete; other writes are not
// waited for (the log after the copy gives them).
func (s *Store) holdPastTombstone(ctx context.Context) (*index, error) {
	if t := s.lastTombstone.Load(); t > 0 {
		return s.acquire(ctx, t)
	}
	x, ok := s.hold()
	if !ok {
		return nil, ErrClosed
	}
	return x, nil
}

// noteTombstone records seq, a delete's commit this store made, for
// holdPastTombstone.
func (s *Store) noteTombstone(seq uint64) { raise(&s.lastTombstone, seq) }

// passedBefore reports whether the ToOffset bound of b is passed by
// every event from log sequence seq on (or by every event after b's From
// bound): a read or subscription that has nothing left to deliver then
// ends there, rather than at the next message of its streams, which a
// subscription would wait for however long it takes to come. ToTime is
// not decided here: the processes sharing a log stamp commits with their
// own clocks, so a later commit may carry an earlier time.
func passedBefore(b *bounds, seq uint64) bool {
	return b.hasToPos && (b.toPos.seq < seq || !b.after.less(b.toPos))
}

// followLog delivers the events of the consumed messages that the bounds
// let through. A message that is not a whole, valid commit following its
// stream's previous commit (a copy of an earlier commit, say) is skipped
// with a warning, as the index skips it: it never reaches the caller, in
// whole or in part. The read knows each stream's version from the commits
// it delivered. When it reads every message of its streams from base+1
// on, every commit up to base being in the index (base 0: from the start
// of the log, where every stream is at version 0), a stream it meets first
// is at its version as of base; any other commit it meets first is checked
// against the index.
func (s *Store) followLog(ctx context.Context, spec consumeSpec, b *bounds, base uint64, yield func(Event, error) bool) error {
	spec.startSeq = max(spec.startSeq, b.after.seq, 1)
	if passedBefore(b, spec.startSeq) {
		b.ended = true
		return nil
	}
	if b.hasToPos && !spec.bounded {
		// A ToOffset the log has reached bounds the consume too: it ends
		// at the bound's commit, or as soon as the log holds nothing more
		// of its streams up to it, even if that commit is not theirs.
		last, err := s.logLastSeq(ctx)
		if err != nil {
			return err
		}
		if b.toPos.seq <= last {
			spec.bounded, spec.upTo = true, b.toPos.seq
		}
	}
	fromBase := spec.startSeq == base+1
	a := newArena()
	names := make(map[string]string)    // subject → stream name, bounded like types
	versions := make(map[string]uint64) // stream → last version delivered, bounded
	forgot := false                     // versions was cleared: a stream not in it may have been seen
	return s.consume(ctx, spec, func(m jetstream.Msg, meta *jetstream.MsgMetadata) error {
		name, ok := names[m.Subject()]
		if !ok {
			if name, ok = nameFromSubject(s.prefix, m.Subject()); !ok {
				return nil
			}
			if len(names) < maxInterned {
				names[m.Subject()] = name
			}
		}
		seq := meta.Sequence.Stream
		c, err := decodeCommit(m.Data())
		if err == nil && c.count == 0 {
			// A close or a tombstone: no events to deliver; after a
			// tombstone the stream starts again at version 1.
			if c.deletes {
				versions[name] = 0
			}
			return nil
		}
		if err == nil {
			last, ok := versions[name]
			switch {
			case !ok && fromBase && !forgot && base > 0:
				if last, err = s.versionAt(ctx, name, base); err != nil {
					return err
				}
				fallthrough
			case ok || fromBase && !forgot:
				if c.firstVersion != last+1 {
					err = fmt.Errorf("%w: starts at version %d, the stream is at %d", ErrCorrupt, c.firstVersion, last)
				}
			default:
				indexed, ierr := s.isIndexedCommit(ctx, name, seq, c.lastVersion())
				if ierr != nil {
					return ierr
				}
				if !indexed {
					err = fmt.Errorf("%w: not the stream's commit of versions %d to %d", ErrCorrupt, c.firstVersion, c.lastVersion())
				}
			}
		}
		if err != nil {
			s.log.Warn("eventstore: skipping a message that is not a commit of its stream",
				"seq", seq, "stream", name, "err", err)
			return nil
		}
		if len(versions) >= maxTrackedStreams {
			clear(versions)
			forgot = true
		}
		versions[name] = c.lastVersion()
		var stop bool
		err = c.eachEvent(name, seq, c.storedAt(meta.Timestamp), a, func(e Event) bool {
			pos := eventPosition(seq, int(e.Version-c.firstVersion), c.count)
			skip, end := b.check(&e, pos)
			if end || !skip && !yield(e, nil) {
				stop = true
				return false
			}
			if !skip {
				b.after = pos
			}
			return true
		})
		if err != nil {
			return fmt.Errorf("log sequence %d: %w", seq, err)
		}
		if stop {
			return errStop
		}
		return nil
	})
}

// versionAt returns the stream's last version as of log sequence seq, up
// to which the index holds every commit.
func (s *Store) versionAt(ctx context.Context, name string, seq uint64) (uint64, error) {
	var v uint64
	err := s.withIndex(ctx, seq, func(x *index, _ uint64) error {
		c, ok, err := x.lastCommitAtOrBefore(name, seq)
		if ok {
			v = c.lastVersion()
		}
		return err
	})
	return v, err
}

// maxTrackedStreams bounds how many streams' last versions one log read
// remembers to check the next commit of each against.
const maxTrackedStreams = 1 << 18

// isIndexedCommit reports whether the commit of stream name whose last
// version is last is, in the read index, the message at log sequence seq:
// whether the index took that message as the stream's commit.
func (s *Store) isIndexedCommit(ctx context.Context, name string, seq, last uint64) (bool, error) {
	var ok bool
	err := s.withIndex(ctx, seq, func(x *index, _ uint64) (err error) {
		ok, err = x.holdsCommit(name, last, seq)
		return err
	})
	return ok, err
}
