package eventstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rewindhq/rewind/internal/ctxsleep"
	"github.com/rewindhq/rewind/internal/natsretry"
)

// The publish and acknowledgement protocol of appends.
//
// A commit is sent as a core NATS message whose reply subject receives
// JetStream's acknowledgement, rather than through the jetstream package's
// PublishMsg: that one decodes every acknowledgement with encoding/json and
// wraps a context without a deadline in a timer, about 4 µs per append
// together, a tenth of what an append costs under load. Here the usual
// acknowledgement is read by hand (parseAck), and the replies of all
// appends arrive on one subscription and are matched to their appends by a
// token in the reply subject (publisher).
//
// Owning the request also orders store times: a commit is stamped and
// written to the connection in one step under one lock, so the store's
// commits reach the server, and take their log sequences, in the order of
// their store times (clock.go). The rest is what PublishMsg does: the same
// message; the tries and their deadlines are the store's own (retry.go),
// so that an append outlasts an election and a lost acknowledgement is
// resolved by the commit itself.

// publishTimeout bounds a whole append whose ctx has no deadline (its
// stream's lock, its publish and the publish's tries): as long as the
// tries of any request may go on (unavailableWait), so that an append
// outlasts an election.
const publishTimeout = unavailableWait

// publisher sends requests on one connection and hands each reply to the
// request that waits for it.
type publisher struct {
	nc     *nats.Conn
	own    bool   // nc is this publisher's own connection, closed with it (home.go)
	prefix string // reply subjects are prefix + token
	sub    *nats.Subscription

	// moving is set while the store moves its appends to another
	// publisher (home.go): a request then sends nothing, waits for the
	// channel to close and is tried again on the store's publisher.
	moving atomic.Pointer[chan struct{}]
	// timedOut is when a request last went unanswered (Unix ns): its
	// message may still be on its way to the leader.
	timedOut atomic.Int64

	order sync.Mutex // stamps and sends one commit at a time

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]chan *nats.Msg
	closed  bool

	chans  sync.Pool // chan *nats.Msg, buffered 1
	timers sync.Pool // *time.Timer, stopped and drained
	msgs   sync.Pool // *nats.Msg with its expected-last-subject-sequence header (message)
}

func newPublisher(nc *nats.Conn) (*publisher, error) {
	p := &publisher{nc: nc, prefix: nc.NewInbox() + ".", waiting: make(map[uint64]chan *nats.Msg)}
	sub, err := nc.Subscribe(p.prefix+"*", p.deliver)
	if err != nil {
		return nil, fmt.Errorf("eventstore: subscribe to acknowledgements: %w", err)
	}
	// Replies must never be dropped as a slow consumer: the appenders they
	// belong to would wait for their whole timeout.
	_ = sub.SetPendingLimits(-1, -1)
	p.sub = sub
	return p, nil
}

func (p *publisher) deliver(m *nats.Msg) {
	token, err := strconv.ParseUint(m.Subject[len(p.prefix):], 10, 64)
	if err != nil {
		return
	}
	p.mu.Lock()
	ch, ok := p.waiting[token]
	delete(p.waiting, token)
	p.mu.Unlock()
	if ok {
		ch <- m // buffered: never blocks
	}
}

// register returns a token and the channel its reply will arrive on.
func (p *publisher) register() (uint64, chan *nats.Msg, error) {
	ch, _ := p.chans.Get().(chan *nats.Msg)
	if ch == nil {
		ch = make(chan *nats.Msg, 1)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, nil, ErrClosed
	}
	p.next++
	p.waiting[p.next] = ch
	return p.next, ch, nil
}

// forget drops a request whose reply will not be waited for. Its channel is
// not reused: a late reply may still be sent to it.
func (p *publisher) forget(token uint64) {
	p.mu.Lock()
	delete(p.waiting, token)
	p.mu.Unlock()
}

// recycle returns the channel of a request whose reply was received.
func (p *publisher) recycle(ch chan *nats.Msg) { p.chans.Put(ch) }

// close wakes every waiting request with a nil reply (the store closed).
func (p *publisher) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for token, ch := range p.waiting {
		ch <- nil
		delete(p.waiting, token)
	}
}

func (p *publisher) timer(d time.Duration) *time.Timer {
	if t, _ := p.timers.Get().(*time.Timer); t != nil {
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

func (p *publisher) putTimer(t *time.Timer) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	p.timers.Put(t)
}

// message returns a commit's message on subj expecting the subject's last
// sequence lastSeq, for putMessage once its publish has ended. The message
// and its header's map are reused: nats.go encodes them into its buffer
// within PublishMsg and keeps neither, and a new map for every append was
// a good part of its allocations.
func (p *publisher) message(subj string, body []byte, lastSeq uint64) *nats.Msg {
	msg, _ := p.msgs.Get().(*nats.Msg)
	if msg == nil {
		msg = &nats.Msg{Header: nats.Header{jetstream.ExpectedLastSubjSeqHeader: make([]string, 1)}}
	}
	msg.Subject, msg.Data = subj, body
	msg.Header[jetstream.ExpectedLastSubjSeqHeader][0] = strconv.FormatUint(lastSeq, 10)
	return msg
}

// putMessage takes back a message of message whose publish has ended.
func (p *publisher) putMessage(msg *nats.Msg) {
	msg.Subject, msg.Data, msg.Reply = "", nil, ""
	p.msgs.Put(msg)
}

// errNoResponders is a reply that no JetStream server took the message.
var errNoResponders = natsretry.ErrNoResponders

// errMoved is a request that sent nothing because the store moved its
// appends to another publisher meanwhile: it is tried again there at once.
var errMoved = errors.New("eventstore: appends moved to another connection")

// inFlight is how many requests wait for their reply.
func (p *publisher) inFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiting)
}

// request sends msg (stamping a format-2 commit body first, see stamp) and
// waits for its reply until deadline or ctx ends.
func (p *publisher) request(ctx context.Context, msg *nats.Msg, deadline time.Time, stamp func()) (*nats.Msg, error) {
	token, ch, err := p.register()
	if err != nil {
		return nil, err
	}
	msg.Reply = p.prefix + strconv.FormatUint(token, 10)
	p.order.Lock()
	if moving := p.moving.Load(); moving != nil {
		p.order.Unlock()
		p.forget(token)
		select {
		case <-*moving:
			return nil, errMoved
		case <-parentDone(ctx):
			return nil, ctx.Err()
		}
	}
	stamp()
	err = p.nc.PublishMsg(msg)
	p.order.Unlock()
	if err != nil {
		p.forget(token)
		return nil, err
	}
	t := p.timer(time.Until(deadline))
	defer p.putTimer(t)
	select {
	case m := <-ch:
		p.recycle(ch)
		if m == nil {
			return nil, ErrClosed
		}
		if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
			return nil, errNoResponders
		}
		return m, nil
	case <-t.C:
		p.forget(token)
		p.timedOut.Store(time.Now().UnixNano())
		return nil, nats.ErrTimeout
	case <-parentDone(ctx): // the timer above stands for ctx's deadline
		p.forget(token)
		return nil, ctx.Err()
	}
}

// publish stores one commit body on subj, checked against the subject's
// last sequence lastSeq, stamped with the store's clock (never before
// floor, the stream's last store time). It returns the commit's log
// sequence and store time.
//
// Each try waits tryTimeout for its acknowledgement; a try that is not
// answered (the log's leader died, an election is under way), answered
// "no responders" or "cluster not available", is sent again, until ctx
// ends (unavailableWait when ctx has no deadline: then the error wraps
// ErrUnavailable). A try whose acknowledgement was lost may have been
// stored: the next one is then refused as a wrong last sequence, and the
// message the subject holds after lastSeq is looked at. Only one message
// can follow lastSeq there (every try expects lastSeq), so if it is this
// commit (the same bytes but the store time, which every try stamps
// anew: event ids, producer mark and command id make a commit unique), the
// commit was stored by the earlier try, and that try's log sequence and
// store time are returned, with body set to what was stored. A publish
// that ends without an acknowledgement may or may not have stored the
// commit.
func (s *Store) publish(ctx context.Context, subj string, body []byte, lastSeq uint64, floor int64) (uint64, int64, error) {
	pub := s.pub.Load()
	msg := pub.message(subj, body, lastSeq)
	defer pub.putMessage(msg)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(unavailableWait) // for all tries
	}
	var stamp int64
	isCommit := len(body) > 10 && body[0] == commitMagic && body[1] == commitFormatV2
	setStamp := func() {
		stamp = s.clock.stamp(floor)
		if isCommit {
			setStoredAt(body, stamp)
		}
	}
	maybeStored := false // a try went unanswered: it may have been stored
	began := time.Now()
	failed := func(err error) error {
		if !s.closed.Load() {
			s.noteUnanswered(began, err)
		}
		return err
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil && attempt == 0 {
			// Done before anything was sent: nothing is stored.
			return 0, 0, fmt.Errorf("publish: %w", err)
		}
		resp, err := s.pub.Load().request(ctx, msg, minTime(time.Now().Add(tryTimeout), deadline), setStamp)
		if errors.Is(err, errMoved) {
			continue // nothing was sent: at once on the publisher it moved to
		}
		if err == nil {
			var seq uint64
			seq, err = s.parseAck(resp.Data)
			var wrong *wrongLastError
			if maybeStored && errors.As(err, &wrong) && isCommit {
				own, ownStamp, found, ferr := s.ownCommitAfter(ctx, deadline, subj, lastSeq, body)
				if ferr != nil {
					return 0, 0, fmt.Errorf("publish: an earlier try may have been stored: %w", ferr)
				}
				if found {
					return own, ownStamp, nil
				}
			}
			if natsretry.StorageFull(err) {
				// Nothing was stored, and nothing will be until an
				// operator acts: the store is not ready until then.
				return 0, 0, s.noteStorageFull(err)
			}
			if !transient(err) {
				s.writes.answered()
				return seq, stamp, err
			}
		}
		switch {
		case s.closed.Load() || errors.Is(err, ErrClosed):
			return 0, 0, ErrClosed
		case errors.Is(err, nats.ErrMaxPayload):
			return 0, 0, fmt.Errorf("%w: %v", ErrTooLarge, err)
		case errors.Is(err, nats.ErrTimeout):
			maybeStored = true
		case !transient(err):
			return 0, 0, fmt.Errorf("publish: %w", err)
		}
		if ctx.Err() != nil || !time.Now().Add(retryPauseMax/10).Before(deadline) {
			return 0, 0, failed(publishFailed(ctx, err, maybeStored))
		}
		// No acknowledgement, or a refusal an election explains: try
		// again after a short pause.
		pause := min(retryPauseMax/10<<min(attempt, 4), retryPauseMax, time.Until(deadline))
		t := pub.timer(pause)
		select {
		case <-parentDone(ctx):
			pub.putTimer(t)
			return 0, 0, failed(publishFailed(ctx, ctx.Err(), maybeStored))
		case <-t.C:
			pub.putTimer(t)
		}
	}
}

// publishFailed is the error of a publish whose tries all failed with a
// transient error (the last one err).
func publishFailed(ctx context.Context, err error, maybeStored bool) error {
	what := "not stored"
	if maybeStored {
		what = "no acknowledgement, stored or not"
	}
	if errors.Is(err, errNoResponders) {
		err = nats.ErrNoResponders
	}
	if _, lazy := ctx.(*lazyDeadline); !lazy {
		// The caller's deadline or cancellation, not ours.
		cerr := ctx.Err()
		if d, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Add(retryPauseMax/10).Before(d) {
			// The tries stopped a moment before the caller's deadline,
			// too close for another (a try's own timer can fire a
			// little before ctx's): the caller's ctx has run out, as
			// far as it can tell, and the error says so.
			cerr = context.DeadlineExceeded
		}
		if cerr != nil && errors.Is(err, cerr) {
			return fmt.Errorf("publish: %s before the caller's deadline: %w: %w", what, ErrUnavailable, err)
		}
		if cerr != nil {
			return fmt.Errorf("publish: %s before the caller's deadline: %w: %w (%w)", what, ErrUnavailable, err, cerr)
		}
	}
	return fmt.Errorf("publish: %s: %w: %w", what, ErrUnavailable, err)
}

// ownCommitAfter looks at the first message on subj after log sequence
// after and reports whether it is body (but for the store time): the
// commit an earlier try stored. The log's replicas answer direct gets and
// one may not hold the message yet (the leader that refused the latest
// try said it exists): it asks again until the deadline.
func (s *Store) ownCommitAfter(ctx context.Context, deadline time.Time, subj string, after uint64, body []byte) (uint64, int64, bool, error) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	// Longer and longer pauses between looks: a replica catches up in
	// milliseconds, but a log without a quorum keeps the commit in
	// process, undecided, until one is back.
	pause := retryPauseMax / 10
	for {
		var first *logMsg
		err := retry(ctx, func(ctx context.Context) error {
			return s.subjectMsgs(ctx, subj, after+1, func(m logMsg) error {
				first = &m
				return errStop
			})
		})
		if err != nil && err != errStop {
			return 0, 0, false, err
		}
		if first != nil {
			if !sameCommit(first.data, body) {
				return 0, 0, false, nil
			}
			// Only the store time differs; the rest of body may be read
			// meanwhile (inflight.go).
			copy(body[2:10], first.data[2:10])
			return first.seq, int64(binary.BigEndian.Uint64(first.data[2:10])), true, nil
		}
		err = ctxsleep.Sleep(ctx, pause)
		pause = min(2*pause, retryPauseMax)
		if err != nil {
			return 0, 0, false, fmt.Errorf("%w: the message after %d on %s is not readable yet: %w", ErrUnavailable, after, subj, err)
		}
	}
}

// sameCommit reports whether two format-2 commit bodies are the same but
// for their store times.
func sameCommit(a, b []byte) bool {
	return len(a) == len(b) && len(a) > 10 && bytes.Equal(a[:2], b[:2]) && bytes.Equal(a[10:], b[10:])
}

// parseAck returns the log sequence of a stored commit from JetStream's
// acknowledgement, or the error it carries. The usual acknowledgement,
// {"stream":"<log>","seq":<n>}, is read directly; any other form (an
// error, a domain, fields a newer server adds) goes through encoding/json.
func (s *Store) parseAck(data []byte) (uint64, error) {
	if rest, ok := bytes.CutPrefix(data, s.ackPrefix); ok {
		if digits, ok := bytes.CutSuffix(rest, []byte("}")); ok {
			if seq, ok := parseSeq(digits); ok {
				return seq, nil
			}
		}
	}
	var ack struct {
		Stream string              `json:"stream"`
		Seq    uint64              `json:"seq"`
		Error  *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(data, &ack); err != nil {
		return 0, fmt.Errorf("publish: unreadable acknowledgement %q: %w", data, err)
	}
	if e := ack.Error; e != nil {
		if e.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			e.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant {
			// "wrong last sequence: N" names the subject's last sequence.
			_, n, _ := strings.Cut(e.Description, ": ")
			actual, _ := strconv.ParseUint(strings.TrimSpace(n), 10, 64)
			return 0, &wrongLastError{actual: actual}
		}
		return 0, fmt.Errorf("publish: %w", e)
	}
	if ack.Stream != s.jsName || ack.Seq == 0 {
		return 0, fmt.Errorf("publish: unexpected acknowledgement %q", data)
	}
	return ack.Seq, nil
}

// wrongLastError is JetStream's refusal of a commit whose expected last
// subject sequence is not the subject's: another commit came first.
type wrongLastError struct{ actual uint64 } // 0: the server did not say

func (e *wrongLastError) Error() string {
	return fmt.Sprintf("wrong last subject sequence (actual %d)", e.actual)
}

// parseSeq reads a decimal sequence number: 1 to 20 digits, no sign, no
// overflow.
func parseSeq(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, n > 0
}
