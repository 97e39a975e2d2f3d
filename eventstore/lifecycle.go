package eventstore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// A stream's life beyond its events: closing it (WithClose), deleting it
// (DeleteStream), waiting for its tail to move (WaitStream) and the small
// metadata kept beside it (Metadata, SetMetadata). These are what a
// protocol that treats a stream as a resource needs, such as the Durable
// Streams HTTP protocol that package durablestreams serves. A close and a
// delete are commits in the log like any append, so every process and every
// rebuild of the read index agrees on them; metadata lives in a key-value
// bucket on the store's server, because it is not part of the history.

// errTombstone: a tombstone came up while an append caught up with the log.
var errTombstone = errors.New("eventstore: the stream was deleted")

// DeleteStream deletes a stream: its events, its producers' and command
// ids' state, its close, its metadata and its snapshots. A stream appended
// to after it starts again at version 1; offsets are never reused, so an
// offset of the deleted stream never addresses an event of the new one.
//
// The delete is a commit of its own in the log (a tombstone, checked
// against the stream's last message like any append), after which the
// stream's earlier messages are purged from the log. A read of the stream
// that began before the delete may still return events from before it.
// Deleting a stream that holds nothing is not an error. The read index
// records the purge with the tombstone and makes it if the delete did
// not (its process died in between, or the purge failed and DeleteStream
// returned the error): at once in a process that is running, else in the
// next one to open the store, or in any other process that follows the
// log. Until then, a read of a category or of the whole log served from
// the log (beyond what the read index holds) may still show the deleted
// events. Such a read begun in this store after DeleteStream returned
// shows none of them (it waits for its index to hold the tombstone); in
// another process (Connect) one may, until that process's read index has
// the tombstone, since it reads the index's copy of the log without
// waiting for the index.
//
// A delete and appends to the same stream from this store are serialized.
// Appends from other processes (Connect) that race a delete are checked by
// the server against the subject's last message like the tombstone is, so
// each is stored either before the tombstone, and deleted with the stream,
// or after it, as the stream made again from version 1: one acknowledged
// after the delete returned is never lost, and every store reads the same
// stream (TestDeleteRacesAppendsAcrossStores).
func (s *Store) DeleteStream(ctx context.Context, stream string) error {
	if err := s.deleteStream(ctx, stream); err != nil {
		return fmt.Errorf("eventstore: delete %q: %w", stream, err)
	}
	return nil
}

func (s *Store) deleteStream(ctx context.Context, name string) (err error) {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := s.awaitStart(ctx); err != nil {
		return err
	}
	subj, err := subjectFor(s.prefix, name)
	if err != nil {
		return err
	}
	ctx, stop := appendBound(ctx)
	defer stop()
	if err := ctx.Err(); err != nil {
		return err // done before anything was asked
	}
	defer func() {
		if err != nil {
			err = outlasted(ctx, err)
		}
	}()
	unlock, err := s.lockStream(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := s.streamState(ctx, name, !s.soleWriter())
	if err != nil {
		return err
	}
	if st.h.subjSeq > 0 {
		body := encodeCommitFlags(1, 0, nil, "", flagDeleted, nil)
		var seq uint64
		var rf refusals
		for {
			if err := rf.beforeTry(ctx); err != nil {
				return err
			}
			var stamp int64
			seq, stamp, err = s.publish(ctx, subj, body, st.h.subjSeq, st.h.storedNs())
			var wrong *wrongLastError
			if errors.As(err, &wrong) {
				before := st.h.subjSeq
				if st, err = s.streamState(ctx, name, true); err != nil {
					return err
				}
				if err := rf.refused(ctx, st.h.subjSeq != before); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				s.heads.drop(name)
				return err
			}
			s.indexAppend(indexRec{name: name, seq: seq, stored: stamp, body: body, flags: flagDeleted})
			s.noteAcked(seq)
			s.noteTombstone(seq)
			break
		}
		s.heads.drop(name)
		s.waits.notify(name)
		// Purge what came before the tombstone; the tombstone stays as
		// the subject's last message, which the next append expects. A
		// purge done twice (a try whose answer was lost) is the same.
		if err := retry(ctx, func(ctx context.Context) error {
			return s.logStream.Purge(ctx, jetstream.WithPurgeSubject(subj), jetstream.WithPurgeSequence(seq))
		}); err != nil {
			return s.closedOr(fmt.Errorf("purge: %w", err))
		}
	}
	if err := s.deleteMetadata(ctx, name); err != nil {
		return err
	}
	return s.DeleteSnapshots(ctx, name)
}

// WaitStream waits until the stream has something after the offset after:
// an event, or a close (Head.Closed), and returns its head. It returns at
// once if it has already. after is an offset the store handed out, Start
// ("-1") or Now (the head when the wait begins). It also returns when the
// stream is deleted meanwhile: the head it returns is then behind after
// (Start, or the head of the stream made again). When ctx ends first it
// returns the head as it is with ctx's error, and when the store closes,
// ErrClosed. It is how a reader at the tail of one stream waits without a
// subscription: a long-poll over HTTP is one WaitStream, and a thousand of
// them cost a thousand parked goroutines, nothing on the server.
func (s *Store) WaitStream(ctx context.Context, stream string, after Offset) (Head, error) {
	if err := validateName(stream); err != nil {
		return Head{}, fmt.Errorf("eventstore: wait on %q: %w", stream, err)
	}
	after, err := ParseOffset(string(after))
	if err != nil {
		return Head{}, fmt.Errorf("eventstore: wait on %q: %w", stream, err)
	}
	var first Head // the head at the first look
	for i := 0; ; i++ {
		ch, release := s.waits.wait(stream)
		h, err := s.Head(ctx, stream)
		if i == 0 {
			first = h
			if after == Now {
				after = h.Offset
			}
		}
		// Only a delete moves a head back.
		deleted := h.Version < first.Version || h.Offset < first.Offset
		if err != nil || h.Offset > after || h.Closed || deleted {
			release()
			return h, err
		}
		select {
		case <-ch:
			release()
		case <-ctx.Done():
			release()
			return h, ctx.Err()
		case <-s.ctx.Done():
			release()
			return h, ErrClosed
		}
	}
}

// waitSet is the streams that readers wait on (WaitStream): one channel per
// stream, closed when a commit of the stream is stored or indexed.
type waitSet struct {
	mu sync.Mutex
	m  map[string]*waitEntry
}

type waitEntry struct {
	ch   chan struct{}
	refs int
}

// wait returns the stream's channel; release must be called once the
// caller stops waiting on it.
func (w *waitSet) wait(name string) (<-chan struct{}, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = make(map[string]*waitEntry)
	}
	e := w.m[name]
	if e == nil {
		e = &waitEntry{ch: make(chan struct{})}
		w.m[name] = e
	}
	e.refs++
	return e.ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if e.refs--; e.refs == 0 && w.m[name] == e {
			delete(w.m, name)
		}
	}
}

// notify wakes the stream's waiters.
func (w *waitSet) notify(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if e := w.m[name]; e != nil {
		close(e.ch)
		delete(w.m, name)
	}
}

// ProducerState returns what the stream holds of an idempotent producer:
// its epoch and the last sequence number stored at it; ok is false when the
// producer has never written to the stream (or the stream was deleted
// since). It is the state the producer rules (see WithProducer) decide the
// producer's next append on, as of every append acknowledged before the
// call.
func (s *Store) ProducerState(ctx context.Context, stream, id string) (epoch, lastSeq uint64, ok bool, err error) {
	if err := validateName(stream); err != nil {
		return 0, 0, false, fmt.Errorf("eventstore: producer state on %q: %w", stream, err)
	}
	ps, ok, err := s.storedProducer(ctx, stream, id)
	if err != nil {
		return 0, 0, false, fmt.Errorf("eventstore: producer state on %q: %w", stream, err)
	}
	return ps.epoch, ps.lastSeq, ok, nil
}
