package eventstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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
	// Duplicate reports that an idempotent producer's append had already
	// been stored: nothing was stored again.
	Duplicate bool
	// ProducerEpoch and ProducerSeq are the producer's state after the
	// append (for a duplicate, the last sequence stored).
	ProducerEpoch, ProducerSeq uint64
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
// at most 5 s when ctx has no deadline. An append that ends without one
// (a timeout, a lost connection) may or may not have been stored; an
// idempotent producer (WithProducer) can retry it safely.
func (s *Store) Append(ctx context.Context, stream string, events []Event, opts ...AppendOption) (AppendResult, error) {
	var ac appendConfig
	for _, o := range opts {
		o(&ac)
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
	out := make([]Event, len(events))
	var now time.Time
	for i, e := range events {
		if e.ID == uuid.Nil || e.Time.IsZero() {
			if now.IsZero() {
				now = time.Now()
			}
			if e.ID == uuid.Nil {
				e.ID = s.ids.next(now)
			}
			if e.Time.IsZero() {
				e.Time = now
			}
		}
		out[i] = e
	}
	return out, nil
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
		for k := range events[i].Metadata {
			if k == "" {
				return fmt.Errorf("%w: event %d has an empty metadata key", ErrInvalidEvent, i)
			}
		}
	}
	return nil
}

// appendCommit stores one commit. For a producer append, units holds the
// number of events of each producer sequence number, from ac.producer's
// firstSeq on; a prefix of units already stored is dropped.
func (s *Store) appendCommit(ctx context.Context, name string, events []Event, ac *appendConfig, units []int) (AppendResult, error) {
	if s.closed.Load() {
		return AppendResult{}, ErrClosed
	}
	if err := validateName(name); err != nil {
		return AppendResult{}, err
	}
	if ac.producer != nil {
		if err := validateProducerID(name, ac.producer.id); err != nil {
			return AppendResult{}, err
		}
	}
	events, err := s.prepareEvents(events)
	if err != nil {
		return AppendResult{}, err
	}
	mu := s.stripe(name)
	mu.Lock()
	defer mu.Unlock()
	st, err := s.streamState(ctx, name, false)
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
	for attempt := 0; ; attempt++ {
		if attempt >= 4 {
			if err := contentionPause(ctx, attempt); err != nil {
				return AppendResult{}, err
			}
		}
		toStore, pm := events, (*producerMark)(nil)
		if ac.producer != nil {
			ps, known, err := s.producerState(ctx, st, name, ac.producer.id)
			if err != nil {
				return AppendResult{}, err
			}
			d := decideProducer(name, ps, known, ac.producer, len(units))
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
					Duplicate: true, ProducerEpoch: ps.epoch, ProducerSeq: ps.lastSeq}, nil
			}
			skip := 0
			for _, n := range units[:d.skipUnits] {
				skip += n
			}
			toStore = events[skip:]
			pm = &producerMark{id: ac.producer.id, epoch: ac.producer.epoch,
				firstSeq: ac.producer.firstSeq + uint64(d.skipUnits), lastSeq: ac.producer.firstSeq + uint64(len(units)) - 1}
		}
		if ac.hasExpect && st.h.version != ac.expect {
			if !refreshed {
				if err := refresh(); err != nil {
					return AppendResult{}, err
				}
				continue
			}
			return AppendResult{}, &ConcurrencyError{Stream: name, Expected: ac.expect, Actual: st.h.version}
		}
		body := encodeCommit(st.h.version+1, pm, toStore)
		if limit := s.maxPayload - headerRoom; len(body) > limit {
			return AppendResult{}, fmt.Errorf("%w: %d bytes encoded, the server takes at most %d per append", ErrTooLarge, len(body), limit)
		}
		seq, err := s.publish(ctx, subj, body, st.h.seq)
		var wrong *wrongLastError
		if errors.As(err, &wrong) {
			// Another commit came first: read what was stored since the
			// head straight from the log, which is one round trip and
			// waits for nobody (a writer that has to wait for its index
			// after every lost race keeps losing against writers that do
			// not); fall back on the index for anything unexpected.
			if err := s.catchUp(ctx, st, subj, wrong.actual); err == nil {
				refreshed = true
				continue
			} else if ctx.Err() != nil || errors.Is(err, ErrClosed) {
				return AppendResult{}, err
			}
			if err := refresh(); err != nil {
				return AppendResult{}, err
			}
			if st.h.seq < wrong.actual {
				// The index holds the log up to the subject's last message
				// and still does not know it: it is not a Rewind commit.
				return AppendResult{}, fmt.Errorf("%w: the last message on %q (log sequence %d) is not a Rewind commit",
					ErrCorrupt, name, wrong.actual)
			}
			continue
		}
		if err != nil {
			// The commit may or may not be stored: forget what we know
			// of the stream, the log will tell.
			s.heads.drop(name)
			return AppendResult{}, err
		}
		s.indexAppend(indexRec{name: name, seq: seq, body: body, last: st.h.version + uint64(len(toStore)), producer: pm})
		s.noteAcked(seq)
		return s.applied(st, name, seq, toStore, pm), nil
	}
}

// headerRoom is what the publish's header takes out of the server's
// maximum payload, which counts headers and body together.
const headerRoom = 128

// contentionPause waits a little, more after each lost race, before an
// append tries again after others (in other processes) stored commits on
// the same stream first: jitter breaks the lockstep of writers that keep
// colliding. The pause stays short (maxContentionPause): a writer that
// lost a few races and then sleeps long leaves the stream to the others
// and keeps losing. It gives up only when ctx is done.
const maxContentionPause = time.Millisecond

func contentionPause(ctx context.Context, attempt int) error {
	d := time.Duration(rand.Int64N(int64(min(50*time.Microsecond<<min(attempt-4, 8), maxContentionPause)) + 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("eventstore: append lost %d races for the stream: %w", attempt, ctx.Err())
	case <-t.C:
		return nil
	}
}

// applied records a stored commit in the stream's cached state (which the
// head cache holds, or has evicted: then the next append reads the index)
// and builds the result.
func (s *Store) applied(st *streamState, name string, seq uint64, events []Event, pm *producerMark) AppendResult {
	first := st.h.version + 1
	st.h = head{version: st.h.version + uint64(len(events)), seq: seq, count: uint32(len(events))}
	res := AppendResult{Stream: name, FirstVersion: first, Version: st.h.version, Offsets: make([]Offset, len(events))}
	// One string holds every offset; each Offset is a slice of it.
	var all strings.Builder
	all.Grow(offsetLen * len(events))
	var buf [offsetLen]byte
	for i := range events {
		position{seq, uint32(i + 1)}.put(buf[:])
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
// append returns, so that the appender's next read sees it. Its store time
// stays pending until a read fetches it.
func (s *Store) indexAppend(r indexRec) {
	s.idxMu.Lock()
	x := s.idx
	s.idxMu.Unlock()
	x.w.submit(r)
}

// wrongLastError is JetStream's refusal of a commit whose expected last
// subject sequence is not the subject's: another commit came first.
type wrongLastError struct{ actual uint64 } // 0: the server did not say

func (e *wrongLastError) Error() string {
	return fmt.Sprintf("wrong last subject sequence (actual %d)", e.actual)
}

// publish stores one commit, checked against the subject's last sequence.
//
// It is a core NATS request, whose reply is JetStream's acknowledgement,
// rather than the jetstream package's PublishMsg: that one decodes every
// acknowledgement with encoding/json and wraps a context without a deadline
// in a timer, about 4 µs per append together, a tenth of what an append
// costs under load. Here the usual acknowledgement is read by hand (see
// parseAck) and a context that can never end takes the connection's pooled
// timer. The rest is what PublishMsg does: the same message, the same
// default timeout, and the same retries while the log has no leader.
func (s *Store) publish(ctx context.Context, subj string, body []byte, lastSeq uint64) (uint64, error) {
	msg := &nats.Msg{Subject: subj, Data: body,
		Header: nats.Header{jetstream.ExpectedLastSubjSeqHeader: {strconv.FormatUint(lastSeq, 10)}}}
	deadline, hasDeadline := ctx.Deadline()
	if !hasDeadline {
		deadline = time.Now().Add(publishTimeout) // for all attempts
	}
	var resp *nats.Msg
	var err error
	for attempt := 0; ; attempt++ {
		switch {
		case hasDeadline:
			resp, err = s.nc.RequestMsgWithContext(ctx, msg)
		case ctx.Done() == nil:
			resp, err = s.nc.RequestMsg(msg, time.Until(deadline))
		default:
			tctx, cancel := context.WithDeadline(ctx, deadline)
			resp, err = s.nc.RequestMsgWithContext(tctx, msg)
			cancel()
		}
		if !errors.Is(err, nats.ErrNoResponders) || attempt == publishRetries ||
			!hasDeadline && time.Until(deadline) <= publishRetryWait {
			break
		}
		// No JetStream server took the message: in a cluster, the log's
		// leader may be changing.
		t := time.NewTimer(publishRetryWait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, fmt.Errorf("eventstore: publish: %w", ctx.Err())
		case <-t.C:
		}
	}
	if err != nil {
		if s.closed.Load() {
			return 0, ErrClosed
		}
		if errors.Is(err, nats.ErrMaxPayload) {
			return 0, fmt.Errorf("%w: %v", ErrTooLarge, err)
		}
		return 0, fmt.Errorf("eventstore: publish: %w", err)
	}
	return s.parseAck(resp.Data)
}

// publishTimeout, publishRetries and publishRetryWait are the jetstream
// package's defaults for a synchronous publish.
const (
	publishTimeout   = 5 * time.Second
	publishRetries   = 2
	publishRetryWait = 250 * time.Millisecond
)

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
		return 0, fmt.Errorf("eventstore: publish: unreadable acknowledgement %q: %w", data, err)
	}
	if e := ack.Error; e != nil {
		if e.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			e.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant {
			// "wrong last sequence: N" names the subject's last sequence.
			_, n, _ := strings.Cut(e.Description, ": ")
			actual, _ := strconv.ParseUint(strings.TrimSpace(n), 10, 64)
			return 0, &wrongLastError{actual: actual}
		}
		return 0, fmt.Errorf("eventstore: publish: %w", e)
	}
	if ack.Stream != s.jsName || ack.Seq == 0 {
		return 0, fmt.Errorf("eventstore: publish: unexpected acknowledgement %q", data)
	}
	return ack.Seq, nil
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

// catchUp moves st forward along the stream's commits in the log, read by
// batched direct gets, up to the commit at log sequence upTo (the
// subject's last sequence when the server refused a commit); with upTo 0,
// one batch. It does not chase commits stored meanwhile: on a busy stream
// there would always be more.
func (s *Store) catchUp(ctx context.Context, st *streamState, subj string, upTo uint64) error {
	for {
		err := s.subjectMsgs(ctx, subj, st.h.seq+1, func(m logMsg) error {
			if upTo > 0 && m.seq > upTo {
				return errStop
			}
			c, err := decodeCommit(m.data)
			if err != nil {
				return err
			}
			if c.firstVersion != st.h.version+1 {
				return fmt.Errorf("%w: commit at log sequence %d starts at version %d after version %d",
					ErrCorrupt, m.seq, c.firstVersion, st.h.version)
			}
			st.h = head{version: c.lastVersion(), seq: m.seq, count: uint32(c.count), stored: m.stored}
			if pm := c.producer; pm != nil {
				st.setProducer(pm.id, producerState{epoch: pm.epoch, lastSeq: pm.lastSeq, commitSeq: m.seq})
			}
			return nil
		})
		switch {
		case err == errStop:
			return nil
		case errors.Is(err, errMoreMsgs) && upTo > st.h.seq:
			continue
		case errors.Is(err, errMoreMsgs):
			return nil
		case err == nil && st.h.seq < upTo:
			return fmt.Errorf("%w: log sequence %d on %s not found", ErrCorrupt, upTo, subj)
		}
		return err
	}
}

// streamState is what the store knows of a stream's end: its head and the
// producer states valid at that head. It is read and written under the
// stream's stripe lock.
type streamState struct {
	subj      string // the stream's subject
	h         head
	producers map[string]producerState // nil: none loaded yet
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
	h, err := s.indexHead(ctx, name, target)
	if err != nil {
		return nil, err
	}
	st := &streamState{subj: subj, h: h}
	s.heads.put(name, st)
	return st, nil
}

// producerState returns a producer's state as of the stream state's head.
func (s *Store) producerState(ctx context.Context, st *streamState, name, id string) (producerState, bool, error) {
	if ps, ok := st.producers[id]; ok {
		return ps, true, nil
	}
	var ps producerState
	var ok bool
	err := s.withIndex(ctx, st.h.seq, func(x *index) (err error) {
		ps, ok, err = x.producer(name, id)
		return err
	})
	if err != nil || !ok {
		return producerState{}, false, err
	}
	st.setProducer(id, ps)
	return ps, true, nil
}

func validateProducerID(stream, id string) error {
	if id == "" || len(id) > 256 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return &ProducerError{Kind: ErrInvalidProducer, Stream: stream, Producer: id,
			Reason: "producer id must be 1 to 256 bytes without control characters"}
	}
	return nil
}
