package eventstore

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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
	if !s.soleWriter() {
		x.w.followsLog()
	}
	x.kickTailer() // catch up with the log at once
	go func() {
		defer close(t.done)
		s.tail(ctx, x)
	}()
	return t
}

func (t *tailer) stop() {
	if t != nil {
		t.cancel()
		<-t.done
	}
}

// tailInterval is how often the tailer of a sole writer's index looks
// for commits its appends did not report (a reader that waits for one, or a
// rebuild, makes it run at once). While this process is the only writer,
// its appends feed the index directly and the tailer has nothing to do
// unless an append's outcome was lost or a crash kept commits out. When
// other processes write to the log, the tailer follows it without pause.
const tailInterval = 200 * time.Millisecond

// tail applies the log to the index from where it holds every commit, for
// as long as ctx lives, restarting after errors.
func (s *Store) tail(ctx context.Context, x *index) {
	follow := !s.soleWriter()
	var due uint64 // acknowledged at the last turn
	for {
		if !follow {
			select {
			case <-ctx.Done():
				return
			case <-x.kick:
			case <-time.After(tailInterval):
				// Appends reach the index a moment after their
				// acknowledgement; one acknowledged a turn ago and still
				// missing was not reported.
				missing := x.position() < due
				due = s.lastAcked.Load()
				if !missing {
					continue
				}
			}
		}
		err := s.tailFrom(ctx, x, !follow)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			continue
		}
		s.log.Warn("eventstore: read index tailer restarting", "err", err, "position", x.position())
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tailFrom hands the log to the index writer from where the index holds
// every commit: up to the log's current end (bounded), or live.
func (s *Store) tailFrom(ctx context.Context, x *index, bounded bool) error {
	// From what the index holds, or beyond what the tailer has handed the
	// writer already and the writer has yet to apply.
	spec := consumeSpec{startSeq: max(x.position(), x.tailPosition(), x.tailSubmitted.Load()) + 1, pull: 4096, bounded: bounded}
	if !bounded {
		// A reader waiting for the index kicks it: a consumer that then
		// delivers nothing for a while is replaced (see consumeFrom).
		spec.kick = x.kick
	}
	if bounded {
		last, err := s.logLastSeq(ctx)
		if err != nil || last < spec.startSeq {
			return err
		}
		spec.upTo = last
	}
	// Records go to the writer in chunks: one hand-over per message would
	// cost more than the write.
	var chunk []indexRec
	var chunkStart time.Time
	names := make(map[string]string)
	err := s.consume(ctx, spec, func(m jetstream.Msg, meta *jetstream.MsgMetadata) error {
		name, ok := names[m.Subject()]
		if !ok {
			name, _ = nameFromSubject(s.prefix, m.Subject())
			if len(names) >= maxInterned {
				clear(names)
			}
			names[m.Subject()] = name
		}
		if hook := s.tailHook.Load(); hook != nil {
			(*hook)(meta.Sequence.Stream)
		}
		if len(chunk) == 0 {
			chunkStart = time.Now()
		}
		chunk = append(chunk, indexRec{name: name, seq: meta.Sequence.Stream,
			stored: meta.Timestamp.UnixNano(), body: m.Data(), kind: recLog})
		if name != "" {
			s.inflight.fill(&chunk[len(chunk)-1]) // this process's own commit, in flight
		}
		// While more is pending, the chunk grows, but not for long: under a
		// steady stream of appends from other processes something is
		// almost always pending.
		if meta.NumPending > 0 && len(chunk) < tailChunk && time.Since(chunkStart) < tailChunkAge {
			return nil
		}
		err := x.w.submitLog(ctx, chunk)
		if err == nil {
			x.noteSubmitted(chunk[len(chunk)-1].seq)
		}
		chunk = nil
		return err
	})
	if err == nil && len(chunk) > 0 {
		if err = x.w.submitLog(ctx, chunk); err == nil {
			x.noteSubmitted(chunk[len(chunk)-1].seq)
		}
	}
	return err
}

// tailChunk is how many of the tailer's records go to the writer at once,
// and tailChunkAge how long the first of them waits for the others.
const (
	tailChunk    = 512
	tailChunkAge = time.Millisecond
)
