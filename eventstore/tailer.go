package eventstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rewindhq/rewind/internal/ctxsleep"
)

// The tailer reads the log in order and hands what it reads to an index's
// writer: what other processes wrote, and whatever this process's appends
// could not report themselves (a crash between acknowledgement and index, a
// publish whose answer was lost).

// tailer is the goroutine that applies the log to one index.
type tailer struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *Store) startTailer(x *index) *tailer {
	ctx, cancel := context.WithCancel(s.ctx)
	t := &tailer{cancel: cancel, done: make(chan struct{})}
	x.w.setOnLog(s.waits.notify)
	purges := make(chan struct{}, 1)
	x.w.setPurges(purges)
	if !s.soleWriter() {
		x.w.followsLog()
	}
	x.kickTailer() // catch up with the log at once
	var wg sync.WaitGroup
	wg.Go(func() { s.completePurges(ctx, x, purges) })
	wg.Go(func() { s.tail(ctx, x) })
	go func() {
		wg.Wait()
		close(t.done)
	}()
	return t
}

// completePurges makes the purges the index records (purgeKey): for each
// delete, the purge of the stream's messages before its tombstone. The
// process that deleted the stream purges them right after its tombstone;
// this makes the purge of a delete whose process died in between, or
// whose purge failed (met again when the index catches up at the next
// start, or recorded before the crash), and of other processes' deletes,
// so that a delete's events never stay in the log. A purge is recorded
// with the delete in the index, in the same batch, and removed once made:
// one not made yet is made by the next start. A purge made twice is the
// same, and one with nothing left to purge costs the server a look-up.
func (s *Store) completePurges(ctx context.Context, x *index, wake <-chan struct{}) {
	warned := false
	for {
		err := x.eachPurge(func(key []byte, seq uint64, name string) error {
			subj, err := subjectFor(s.prefix, name)
			if err == nil {
				err = retry(ctx, func(ctx context.Context) error {
					return s.logStream.Purge(ctx, jetstream.WithPurgeSubject(subj), jetstream.WithPurgeSequence(seq))
				})
			}
			if err != nil {
				return fmt.Errorf("purge of the deleted stream %q before log sequence %d: %w", name, seq, err)
			}
			return x.db.Delete(key, pebble.NoSync)
		})
		if err != nil && ctx.Err() == nil && !warned {
			// Left recorded: tried again at the next delete and the next
			// start (a client that may not purge, say, warns once).
			s.log.Warn("eventstore: a delete's purge is not made yet", "err", err)
			warned = true
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		}
	}
}

func (t *tailer) stop() {
	if t != nil {
		t.cancel()
		<-t.done
	}
}

// tailInterval is how often the tailer of a sole writer's index, or of a
// quiet one (tips.go), looks for commits its appends did not report (a
// reader that waits for one, or a rebuild, makes it run at once). While
// this process is the only writer, its appends feed the index directly and
// the tailer has nothing to do unless an append's outcome was lost or a
// crash kept commits out. When other processes write to the log, the
// tailer follows it without pause.
const tailInterval = 200 * time.Millisecond

// logLastWait bounds the quiet tailer's look at the log's last sequence:
// during an election it is skipped, and looked at again at the next turn.
const logLastWait = time.Second

// tail applies the log to the index from where it holds every commit, for
// as long as ctx lives, restarting after errors.
//
// A sole writer's tailer catches up, bounded, when kicked or when an
// acknowledged commit is missing from the index. The tailer of a store
// that shares its log follows it live, but once it has delivered only this
// process's own commits for quietAfter (and this store's tips work), it
// stops its consumer and tails as a sole writer's does, until another
// store's tip names a commit the index does not hold, or the log held, a
// turn ago, a commit the index still does not (a tip lost, or never sent):
// then it follows the log live again, from where the index holds every
// commit (tips.go).
func (s *Store) tail(ctx context.Context, x *index) {
	t := s.tips // nil for a sole writer
	follow := !s.soleWriter()
	var due uint64     // acknowledged at the last turn
	var logLast uint64 // quiet: the log's last sequence at the last turn
	for {
		if !follow {
			select {
			case <-ctx.Done():
				return
			case <-x.kick:
				if t != nil && s.settles(ctx, x) {
					continue
				}
			case <-t.signalled():
				if !t.othersAfter(x.position()) {
					continue
				}
				follow = true
				s.noteMode(true, "tip")
			case <-time.After(tailInterval):
				// Appends reach the index a moment after their
				// acknowledgement; one acknowledged a turn ago and still
				// missing was not reported.
				pos := x.position()
				missing := pos < due
				due = s.lastAcked.Load()
				if t != nil {
					follow = s.quietTurn(ctx, x, pos, &logLast)
				}
				if !missing && !follow {
					continue
				}
			}
		}
		var err error
		if follow && t != nil {
			var quiet bool
			quiet, err = s.tailLive(ctx, x)
			if quiet {
				follow, logLast = false, 0
				s.noteMode(false, "alone")
				continue
			}
		} else {
			err = s.tailFrom(ctx, x, !follow)
		}
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			continue
		}
		s.log.Warn("eventstore: read index tailer restarting", "err", err, "position", x.position())
		if ctxsleep.Sleep(ctx, 100*time.Millisecond) != nil {
			return
		}
	}
}

// quietTurn is a quiet tailer's look for other processes' commits at its
// turn, with the index at pos: it reports whether to follow the log live.
// *logLast is the log's last sequence at the last turn: every commit this
// process had in the log then has since been acknowledged and handed to
// the index, so one the index still lacks was not reported (another
// process's, whose tip went missing, or one whose acknowledgement was
// lost).
func (s *Store) quietTurn(ctx context.Context, x *index, pos uint64, logLast *uint64) bool {
	switch {
	case s.tips.othersAfter(pos):
		s.noteMode(true, "tip")
		return true
	case s.tips.tipsOnly.Load():
		return false
	case *logLast > pos:
		s.noteMode(true, "log")
		return true
	}
	if last, err := s.quietLogLast(ctx); err == nil {
		*logLast = last
	}
	return false
}

// quietLogLast is a quiet tailer's look at the log's last sequence,
// bounded by logLastWait.
func (s *Store) quietLogLast(ctx context.Context) (uint64, error) {
	lctx, cancel := context.WithTimeout(ctx, logLastWait)
	defer cancel()
	return s.heldLastSeq(lctx)
}

// settleWait bounds how long a quiet tailer, kicked by a reader, waits
// for this process's appends in flight to reach the index before it
// catches up with the log.
const settleWait = 50 * time.Millisecond

// settles reports whether the index reaches the log's last sequence within
// settleWait without a catch-up. A reader of a store that shares its log
// waits for the log's end, which, while this process appends, is mostly
// its own commits in flight: acknowledged a moment later, they reach the
// index from their appends. A catch-up would make a consumer on the log
// for them (on a cluster, a request to its meta leader), once per reader's
// kick; one look at the log's last sequence costs a request the reader
// makes anyway.
func (s *Store) settles(ctx context.Context, x *index) bool {
	last, err := s.quietLogLast(ctx)
	if err != nil {
		return false
	}
	timer := time.NewTimer(settleWait)
	defer timer.Stop()
	for {
		pos, advanced := x.progress()
		if pos >= last {
			return true
		}
		select {
		case <-advanced:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// tailLive follows the log live until ctx ends or an error, or, reported
// by quiet, until the tailer has delivered only this process's own
// commits for quietAfter and this store's tips work.
func (s *Store) tailLive(ctx context.Context, x *index) (quiet bool, err error) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var alone atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		if s.watchAlone(lctx, x) {
			alone.Store(true)
			cancel()
		}
	}()
	err = s.tailFrom(lctx, x, false)
	cancel()
	<-done
	if alone.Load() && ctx.Err() == nil {
		return true, nil
	}
	return false, err
}

// watchAlone reports true once the index writer has met no other
// process's commit from the tailer for quietAfter, and this store's tips
// work (tips.probe); false when ctx ends.
func (s *Store) watchAlone(ctx context.Context, x *index) bool {
	tick := time.NewTicker(quietAfter / 8)
	defer tick.Stop()
	seen, since := x.w.foreign.Load(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
		ok := s.tips.probe()
		if n := x.w.foreign.Load(); n != seen {
			seen, since = n, time.Now()
			continue
		}
		if ok && time.Since(since) >= quietAfter && !s.tips.othersAfter(x.position()) {
			return true
		}
	}
}

// noteMode tells the tests' hook that the tailer starts (live) or stops
// following the log live, and why.
func (s *Store) noteMode(live bool, why string) {
	s.log.Debug("eventstore: read index tailer", "live", live, "why", why)
	if hook := s.modeHook.Load(); hook != nil {
		(*hook)(live, why)
	}
}

// tailFrom hands the log to the index writer from where the index holds
// every commit: up to the log's current end (bounded), or live.
//
// A bounded catch-up of at most directCatchUpMax commits reads them by
// batched direct gets (tailDirect), which any of the log's replicas
// answers: making a consumer needs the cluster's meta leader too, and
// while it is being elected (seconds) a catch-up through a consumer could
// not start, though the log takes appends and a reader waits for them. A
// longer catch-up (an index far behind at open) goes through a consumer,
// which streams the log. The live tailer catches up so first, then makes
// its consumer with tries bounded by liveCreateWait: when the meta layer
// cannot make one, the tailer catches up again and retries, so that the
// index does not fall behind the log by more than that while it does.
func (s *Store) tailFrom(ctx context.Context, x *index, bounded bool) error {
	if !bounded {
		cctx, cancel := context.WithTimeout(ctx, liveCreateWait)
		_, _, err := s.catchUpDirect(cctx, x, x.nextToTail())
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			s.log.Debug("eventstore: read index catch-up before following the log", "err", err)
		}
	}
	// From what the index holds, or beyond what the tailer has handed the
	// writer already and the writer has yet to apply.
	spec := consumeSpec{startSeq: x.nextToTail(), pull: 4096, bounded: bounded}
	if !bounded {
		// A reader waiting for the index kicks it: a consumer that then
		// delivers nothing for a while is replaced (see consumeFrom).
		spec.kick = x.kick
		spec.createWait = liveCreateWait
	}
	if bounded {
		last, done, err := s.catchUpDirect(ctx, x, spec.startSeq)
		if err != nil || done {
			return err
		}
		spec.upTo = last
	}
	c := s.newTailChunks(x)
	err := s.consume(ctx, spec, func(m jetstream.Msg, meta *jetstream.MsgMetadata) error {
		c.add(m.Subject(), meta.Sequence.Stream, meta.Timestamp.UnixNano(), m.Data())
		// While more is pending, the chunk grows, but not for long: under a
		// steady stream of appends from other processes something is
		// almost always pending.
		if meta.NumPending > 0 && !c.full() {
			return nil
		}
		return c.flush(ctx)
	})
	if err == nil {
		err = c.flush(ctx)
	}
	return err
}

// directCatchUpMax is the longest catch-up, in log sequences, that the
// tailer reads by direct gets rather than through a consumer.
const directCatchUpMax = 8192

// liveCreateWait bounds the tries of the live tailer's catch-up, and of
// making its consumer, before it catches up again and retries.
const liveCreateWait = 2 * time.Second

// catchUpDirect brings the index from log sequence from to the log's last
// sequence, which it returns, by direct gets when that is at most
// directCatchUpMax commits (done reports that nothing is left to read); a
// longer catch-up is left to a consumer.
func (s *Store) catchUpDirect(ctx context.Context, x *index, from uint64) (last uint64, done bool, err error) {
	last, err = s.heldLastSeq(ctx)
	if err != nil || last < from {
		return last, true, err
	}
	if last-from >= directCatchUpMax {
		return last, false, nil
	}
	return last, true, s.tailDirect(ctx, x, from, last)
}

// tailDirect hands the index writer the log's commits from from up to
// upTo, read by batched direct gets. Any replica of the log answers one,
// and one that lags (restarted, catching up after an election) ends its
// answer before upTo though the leader holds more: the leader is then
// asked for its next message (as a bounded consumer's end is checked,
// replicaLags), and the read goes on, after a pause, from there.
func (s *Store) tailDirect(ctx context.Context, x *index, from, upTo uint64) error {
	c := s.newTailChunks(x)
	next := from
	for next <= upTo {
		err := s.directGet(ctx, s.jsName, s.jsName+".>", next, func(m *nats.Msg) error {
			lm, err := parseDirectMsg(m)
			if err != nil {
				return err
			}
			if lm.seq > upTo {
				return errStop
			}
			next = lm.seq + 1
			c.add(lm.subject, lm.seq, lm.stored.UnixNano(), lm.data)
			if c.full() {
				return c.flush(ctx)
			}
			return nil
		})
		switch {
		case err == errStop:
			return c.flush(ctx)
		case errors.Is(err, errMoreMsgs):
			continue
		case err != nil:
			if ferr := c.flush(ctx); ferr != nil {
				return ferr
			}
			return err
		}
		if next > upTo {
			break
		}
		// This replica holds nothing more from next on: the read is
		// complete unless the leader holds more up to upTo.
		seq, ok, err := s.leaderNextSeq(ctx, s.jsName+".>", next)
		if err != nil {
			return errors.Join(c.flush(ctx), s.closedOr(fmt.Errorf("eventstore: read the log: %w", err)))
		}
		if !ok || seq > upTo {
			break
		}
		if err := c.flush(ctx); err != nil {
			return err
		}
		s.log.Info("eventstore: log replica lags the leader", "read_to", next-1, "leader_has", seq, "up_to", upTo)
		if err := ctxsleep.Sleep(ctx, retryPauseMax); err != nil {
			return err
		}
	}
	return c.flush(ctx)
}

// tailChunks gathers the records the tailer reads into chunks for the
// index writer: one hand-over per message would cost more than the write.
type tailChunks struct {
	s     *Store
	x     *index
	names map[string]string // subject to stream name
	chunk []indexRec
	start time.Time // when the chunk's first record came
}

func (s *Store) newTailChunks(x *index) *tailChunks {
	return &tailChunks{s: s, x: x, names: make(map[string]string)}
}

// add appends one log message to the chunk.
func (c *tailChunks) add(subject string, seq uint64, stored int64, body []byte) {
	name, ok := c.names[subject]
	if !ok {
		name, _ = nameFromSubject(c.s.prefix, subject)
		if len(c.names) >= maxInterned {
			clear(c.names)
		}
		c.names[subject] = name
	}
	if hook := c.s.tailHook.Load(); hook != nil {
		(*hook)(seq)
	}
	if len(c.chunk) == 0 {
		c.start = time.Now()
	}
	c.chunk = append(c.chunk, indexRec{name: name, seq: seq, stored: stored, body: body, kind: recLog})
	if name != "" {
		c.s.inflight.fill(&c.chunk[len(c.chunk)-1]) // this process's own commit, in flight
	}
}

// full reports whether the chunk is to go to the writer now, though more
// may follow at once.
func (c *tailChunks) full() bool {
	return len(c.chunk) >= tailChunk || time.Since(c.start) >= tailChunkAge
}

// flush hands the chunk to the writer.
func (c *tailChunks) flush(ctx context.Context) error {
	if len(c.chunk) == 0 {
		return nil
	}
	err := c.x.w.submitLog(ctx, c.chunk)
	if err == nil {
		c.x.noteSubmitted(c.chunk[len(c.chunk)-1].seq)
	}
	c.chunk = nil
	return err
}

// tailChunk is how many of the tailer's records go to the writer at once,
// and tailChunkAge how long the first of them waits for the others.
const (
	tailChunk    = 512
	tailChunkAge = time.Millisecond
)
