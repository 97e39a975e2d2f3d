package eventstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/rewindhq/rewind/internal/ctxsleep"
)

// Producer appends to one stream as an idempotent producer: every Append
// gets the next sequence number of the producer's epoch, and the store
// keeps each (epoch, seq) at most once for the life of the stream, however
// often it is retried, across crashes and restarts.
//
// Append does not wait for the store: appends are queued (at most
// WithMaxInFlight of them; Append blocks when the queue is full) and a
// single sender goroutine commits them in order, as many queued appends per
// commit as fit (WithMaxBatch). A commit whose outcome is unknown (a
// timeout, a lost connection) is retried with the same sequence numbers,
// which the store recognises. Flush waits until every earlier Append is
// durable; errors are reported by Flush, Close and the next Append, never
// dropped.
//
// A new Producer fences the instances before it: it reads the producer's
// stored epoch and claims the next one (WithEpoch claims a given one), so
// every later write of an older instance fails with ErrStaleEpoch. A
// Producer never takes a write as a duplicate unless it sent that write
// itself: if another instance claimed the same epoch at the same moment,
// the one that wrote second fails with ErrStaleEpoch (or, WithAutoClaim,
// claims a newer epoch) rather than losing its events. Resuming an earlier
// instance's numbering after a crash, to resend what it may have stored, is
// explicit: WithResume.
type Producer struct {
	s      *Store
	stream string
	id     string
	cfg    producerConfig

	mu       sync.Mutex
	cond     *sync.Cond
	epoch    uint64
	nextSeq  uint64         // sequence number of the next Append
	queue    []producerUnit // appended, not yet acknowledged, in order
	acked    uint64         // sequence numbers of epoch below this are durable
	appended uint64         // appends ever queued (across epochs)
	durable  uint64         // appends ever acknowledged (across epochs)
	err      error          // sticky: the first error that stopped the producer
	closed   bool

	cancel context.CancelFunc
	done   chan struct{}
}

type producerUnit struct {
	seq    uint64
	events []Event
	size   int
	sent   bool // sent at least once under the current epoch
}

type producerConfig struct {
	epoch       uint64
	hasEpoch    bool
	resume      bool
	nextSeq     uint64
	autoClaim   bool
	maxInFlight int
	maxBatch    int
	onAck       func(ProducerAck)
}

// ProducerAck reports a commit that made appends durable: the sequence
// numbers FirstSeq..LastSeq of Epoch (Duplicate: they were already stored).
type ProducerAck struct {
	Epoch, FirstSeq, LastSeq uint64
	Duplicate                bool
	Result                   AppendResult
}

// ProducerOption configures a Producer. A nil ProducerOption is ignored.
type ProducerOption func(*producerConfig) error

// WithEpoch makes the producer claim epoch rather than the one after the
// stored epoch. An epoch below the stored one fails the first append with
// ErrStaleEpoch; the stored epoch itself fails it too (the numbers are
// taken), unless the producer never wrote under it.
func WithEpoch(epoch uint64) ProducerOption {
	return func(c *producerConfig) error { c.epoch, c.hasEpoch, c.resume = epoch, true, false; return nil }
}

// WithResume resumes an earlier instance's epoch from sequence number
// nextSeq, after a crash: resend what was not known to be durable, with the
// numbers it had, and the store keeps each at most once (what is already
// stored comes back as a duplicate, without error).
func WithResume(epoch, nextSeq uint64) ProducerOption {
	return func(c *producerConfig) error {
		c.epoch, c.nextSeq, c.hasEpoch, c.resume = epoch, nextSeq, true, true
		return nil
	}
}

// WithAutoClaim makes the producer, when the store reports its epoch as
// stale, claim the next epoch after the stored one and resend what is
// queued from sequence number 0. Without it a stale epoch stops the
// producer with ErrStaleEpoch, as it does with it when the stored epoch is
// the last one (math.MaxUint64), after which there is none to claim.
func WithAutoClaim() ProducerOption {
	return func(c *producerConfig) error { c.autoClaim = true; return nil }
}

// WithMaxInFlight bounds how many appends may wait for the store (default
// 4096); Append blocks beyond it.
func WithMaxInFlight(n int) ProducerOption {
	return func(c *producerConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: max in flight %d", ErrInvalidOption, n)
		}
		c.maxInFlight = n
		return nil
	}
}

// WithMaxBatch bounds how many appends go into one commit (default 1024).
func WithMaxBatch(n int) ProducerOption {
	return func(c *producerConfig) error {
		if n < 1 {
			return fmt.Errorf("%w: max batch %d", ErrInvalidOption, n)
		}
		c.maxBatch = n
		return nil
	}
}

// WithOnAck calls fn from the producer's sender goroutine after each
// commit, in order. fn must not call the Producer's methods.
func WithOnAck(fn func(ProducerAck)) ProducerOption {
	return func(c *producerConfig) error { c.onAck = fn; return nil }
}

// Producer returns an idempotent producer with the given id on stream,
// which fences every earlier instance (see Producer). Without WithEpoch or
// WithResume it reads the producer's stored epoch first, so it waits for
// the store like a read. Call Close when done; an idle Producer also ends
// when its store closes.
func (s *Store) Producer(ctx context.Context, stream, id string, opts ...ProducerOption) (*Producer, error) {
	if err := validateName(stream); err != nil {
		return nil, fmt.Errorf("eventstore: producer on %q: %w", stream, err)
	}
	if err := validateProducerID(stream, id); err != nil {
		return nil, fmt.Errorf("eventstore: producer on %q: %w", stream, err)
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	cfg := producerConfig{maxInFlight: 4096, maxBatch: 1024}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if !cfg.hasEpoch {
		ps, known, err := s.storedProducer(ctx, stream, id)
		if err != nil {
			return nil, fmt.Errorf("eventstore: producer %q on %q: %w", id, stream, err)
		}
		if known {
			if ps.epoch == math.MaxUint64 {
				return nil, fmt.Errorf("eventstore: producer on %q: %w", stream, &ProducerError{Kind: ErrInvalidProducer,
					Stream: stream, Producer: id, Epoch: ps.epoch, CurrentEpoch: ps.epoch,
					Reason: fmt.Sprintf("its stored epoch is the last epoch, %d: there is no newer one to claim (WithResume goes on in it)", ps.epoch)})
			}
			cfg.epoch = ps.epoch + 1
		}
	}
	ctx, cancel := context.WithCancel(s.ctx)
	p := &Producer{s: s, stream: stream, id: id, cfg: cfg, epoch: cfg.epoch, nextSeq: cfg.nextSeq,
		acked: cfg.nextSeq, cancel: cancel, done: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	// The sender waits on cond; the store's closing must wake it.
	context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	s.producersMu.Lock()
	if s.closed.Load() {
		s.producersMu.Unlock()
		cancel()
		return nil, ErrClosed
	}
	s.producers[p] = struct{}{}
	s.producersMu.Unlock()
	go p.run(ctx)
	return p, nil
}

// storedProducer returns a producer's state as the store holds it now.
func (s *Store) storedProducer(ctx context.Context, stream, id string) (ps producerState, known bool, err error) {
	target, err := s.readTarget(ctx)
	if err != nil {
		return producerState{}, false, err
	}
	err = s.withIndex(ctx, target, func(x *index, _ uint64) error {
		ps, known, err = x.producer(stream, id)
		return err
	})
	return ps, known, err
}

// stopProducers ends the producers of a closing store (whose ctx has
// ended) and waits for their senders.
func (s *Store) stopProducers() {
	s.producersMu.Lock()
	ps := make([]*Producer, 0, len(s.producers))
	for p := range s.producers {
		ps = append(ps, p)
	}
	s.producersMu.Unlock()
	for _, p := range ps {
		<-p.done
	}
}

// Append queues events as the producer's next append and returns its
// sequence number. It blocks while WithMaxInFlight appends are queued. It
// returns the producer's error if an earlier append failed. The events must
// not be modified until they are durable (Flush).
func (p *Producer) Append(ctx context.Context, events ...Event) (uint64, error) {
	// Bad events are refused here rather than stopping the producer and
	// failing the good appends batched with them.
	if err := validateEvents(events); err != nil {
		return 0, fmt.Errorf("eventstore: producer %q: %w", p.id, err)
	}
	size := 0
	for i := range events {
		size += len(events[i].Data) + len(events[i].Type) + 64
		for k, v := range events[i].Metadata {
			size += len(k) + len(v) + 4
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	began := ctx.Err() == nil
	for p.err == nil && !p.closed && len(p.queue) >= p.cfg.maxInFlight {
		if err := waitCond(ctx, p.cond); err != nil {
			if !began {
				return 0, err // done before it waited
			}
			return 0, senderOutlasted(ctx, "waiting for room among the producer's appends in flight", err)
		}
	}
	if p.err != nil {
		return 0, p.err
	}
	if p.closed {
		return 0, ErrClosed
	}
	seq := p.nextSeq
	p.nextSeq++
	p.appended++
	p.queue = append(p.queue, producerUnit{seq: seq, events: append([]Event(nil), events...), size: size})
	p.cond.Broadcast()
	return seq, nil
}

// waitCond waits on c with c.L held, as c.Wait does, but gives up when ctx
// is done, returning its error.
func waitCond(ctx context.Context, c *sync.Cond) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() {
		c.L.Lock()
		c.Broadcast()
		c.L.Unlock()
	})
	c.Wait()
	stop()
	return ctx.Err()
}

// Flush waits until every append made before it is durable, and returns
// the producer's error if one stopped it. A ctx that ends while it waits
// fails it with an error wrapping ErrUnavailable and ctx's error (the
// producer's appends wait for the cluster); the appends go on.
func (p *Producer) Flush(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	target := p.appended
	began := ctx.Err() == nil
	for p.err == nil && p.durable < target {
		if err := waitCond(ctx, p.cond); err != nil {
			if !began {
				return err // done before it waited
			}
			return senderOutlasted(ctx, "waiting for the producer's appends to be stored", err)
		}
	}
	return p.err
}

// senderOutlasted is the error of a wait for the producer's sender that
// ctx ended: the sender waits for the cluster, so the wait outlasted its
// ctx waiting for the cluster, and the error wraps ErrUnavailable as well
// as ctx's error (see outlasted). The callers return a ctx done before
// the wait began alone.
func senderOutlasted(ctx context.Context, what string, err error) error {
	return outlasted(ctx, fmt.Errorf("%s: %w", what, err))
}

// Acked returns the producer's epoch and the number of sequence numbers of
// it that are durable (every seq below it).
func (p *Producer) Acked() (epoch, next uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.epoch, p.acked
}

// Close flushes what is queued (ctx bounds the wait), stops the sender and
// returns the producer's error, if any. Appends after Close fail with
// ErrClosed.
func (p *Producer) Close(ctx context.Context) error {
	err := p.Flush(ctx)
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	p.cancel()
	<-p.done
	p.s.producersMu.Lock()
	delete(p.s.producers, p)
	p.s.producersMu.Unlock()
	return err
}

// run is the sender: it commits queued appends in order until cancelled.
func (p *Producer) run(ctx context.Context) {
	defer close(p.done)
	backoff := time.Duration(0)
	for {
		batch, epoch, ok := p.next(ctx)
		if !ok {
			if ctx.Err() != nil {
				p.fail(ErrClosed) // the store closed (no-op after Close)
			}
			return
		}
		res, err := p.commit(ctx, epoch, batch)
		if err == nil {
			backoff = 0
			p.ackBatch(epoch, batch, res)
			continue
		}
		if ctx.Err() != nil {
			p.fail(ErrClosed)
			return
		}
		if retry, claim := p.classify(err); claim {
			continue
		} else if !retry {
			p.fail(err)
			return
		}
		// Unknown outcome: resend the same sequence numbers after a pause;
		// the store keeps them at most once.
		backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
		if ctxsleep.Sleep(ctx, backoff) != nil {
			p.fail(ErrClosed)
			return
		}
	}
}

// next waits for queued appends and marks a batch of them as being sent.
func (p *Producer) next(ctx context.Context) ([]producerUnit, uint64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.queue) == 0 {
		if p.closed || p.err != nil || ctx.Err() != nil {
			return nil, 0, false
		}
		p.cond.Wait()
	}
	limit := p.s.maxPayload / 2
	n, size := 0, 0
	for n < len(p.queue) && n < p.cfg.maxBatch && (n == 0 || size+p.queue[n].size <= limit) {
		size += p.queue[n].size
		n++
	}
	return p.queue[:n:n], p.epoch, true
}

// commit stores a batch of consecutive appends as one commit.
func (p *Producer) commit(ctx context.Context, epoch uint64, batch []producerUnit) (AppendResult, error) {
	var events []Event
	units := make([]int, len(batch))
	for i, u := range batch {
		events = append(events, u.events...)
		units[i] = len(u.events)
	}
	ac := appendConfig{producer: &producerMark{id: p.id, epoch: epoch,
		firstSeq: batch[0].seq, lastSeq: batch[len(batch)-1].seq}, sentUnits: -1}
	if !p.cfg.resume {
		p.mu.Lock()
		sent := 0
		for sent < len(batch) && batch[sent].sent {
			sent++
		}
		for i := range batch {
			batch[i].sent = true
		}
		p.mu.Unlock()
		ac.sentUnits = sent
	}
	if p.s.cfg.observer != nil {
		return p.s.observeAppend(ctx, p.stream, events, true, func(ctx context.Context, events []Event) (AppendResult, error) {
			return p.s.appendCommit(ctx, p.stream, events, &ac, units)
		})
	}
	return p.s.appendCommit(ctx, p.stream, events, &ac, units)
}

func (p *Producer) ackBatch(epoch uint64, batch []producerUnit, res AppendResult) {
	p.mu.Lock()
	p.queue = p.queue[len(batch):]
	p.acked = batch[len(batch)-1].seq + 1
	p.durable += uint64(len(batch))
	p.cond.Broadcast()
	p.mu.Unlock()
	if p.cfg.onAck != nil {
		p.cfg.onAck(ProducerAck{Epoch: epoch, FirstSeq: batch[0].seq, LastSeq: batch[len(batch)-1].seq,
			Duplicate: res.Duplicate, Result: res})
	}
}

// classify says whether a failed commit is retried as it is, or (auto
// claim) renumbered under a new epoch; anything else stops the producer.
func (p *Producer) classify(err error) (retry, claimed bool) {
	var perr *ProducerError
	if errors.As(err, &perr) {
		// After the last epoch there is none to claim: the stale epoch
		// stops the producer (claiming CurrentEpoch+1 would wrap to 0).
		if perr.Kind == ErrStaleEpoch && p.cfg.autoClaim && perr.CurrentEpoch < math.MaxUint64 {
			p.claim(perr.CurrentEpoch + 1)
			return false, true
		}
		return false, false
	}
	// Refusals whose outcome is known (nothing stored) and that no resend
	// changes: a closed stream, a full store, a server that did not start.
	for _, final := range []error{ErrClosed, ErrInvalidEvent, ErrInvalidStreamName, ErrTooLarge, ErrConcurrency, ErrCorrupt,
		ErrStreamClosed, ErrStorageFull, ErrStart} {
		if errors.Is(err, final) {
			return false, false
		}
	}
	return true, false
}

// claim moves the producer to epoch and renumbers what is queued from 0.
func (p *Producer) claim(epoch uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.epoch = epoch
	p.cfg.resume = false // nothing of the new epoch was sent before
	for i := range p.queue {
		p.queue[i].seq = uint64(i)
		p.queue[i].sent = false
	}
	p.nextSeq = uint64(len(p.queue))
	p.acked = 0
}

func (p *Producer) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		var perr *ProducerError
		if errors.As(err, &perr) { // names the producer already
			p.err = fmt.Errorf("eventstore: producer on %q: %w", p.stream, err)
		} else {
			p.err = fmt.Errorf("eventstore: producer %q on %q: %w", p.id, p.stream, err)
		}
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}
