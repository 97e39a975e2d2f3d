package eventstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// indexRec is one commit on its way into the index.
type indexRec struct {
	name    string // "" for a log message that is no stream's commit
	seq     uint64
	stored  int64 // Unix ns; 0: pending (an append's record)
	body    []byte
	fromLog bool // the tailer's record: in log order, with the store time
}

// maxWriterQueue bounds how many of the tailer's records may wait for the
// writer; the tailer waits beyond it (appends never wait: they are bounded
// by the appends in flight).
const maxWriterQueue = 16384

// indexWriter is the one goroutine that writes an index. Records are
// applied in batches, each with the checkpoint, with no fsync: after a
// crash the tailer reapplies the log from the checkpoint.
type indexWriter struct {
	x    *index
	log  *slog.Logger
	mu   sync.Mutex
	cond *sync.Cond
	recs []indexRec
	stop bool
	done chan struct{}
}

func startWriter(x *index, log *slog.Logger) {
	w := &indexWriter{x: x, log: log, done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	x.w = w
	x.kick = make(chan struct{}, 1)
	go w.run()
}

// submit queues an append's record; it never blocks.
func (w *indexWriter) submit(r indexRec) {
	w.mu.Lock()
	if !w.stop {
		w.recs = append(w.recs, r)
		w.cond.Broadcast()
	}
	w.mu.Unlock()
}

// submitLog queues the tailer's records, waiting while the queue is full.
func (w *indexWriter) submitLog(ctx context.Context, rs []indexRec) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.recs) >= maxWriterQueue && !w.stop {
		if err := ctx.Err(); err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() {
			w.mu.Lock()
			w.cond.Broadcast()
			w.mu.Unlock()
		})
		w.cond.Wait()
		stop()
	}
	if w.stop {
		return ErrClosed
	}
	w.recs = append(w.recs, rs...)
	w.cond.Broadcast()
	return nil
}

func (w *indexWriter) run() {
	defer close(w.done)
	var spare []indexRec
	for {
		w.mu.Lock()
		for len(w.recs) == 0 && !w.stop {
			w.cond.Wait()
		}
		if len(w.recs) == 0 {
			w.mu.Unlock()
			return
		}
		recs := w.recs
		w.recs = spare[:0]
		w.cond.Broadcast() // room for the tailer
		w.mu.Unlock()
		if err := w.apply(recs); err != nil {
			w.x.fail(err)
			w.log.Error("eventstore: read index write failed", "dir", w.x.dir, "err", err)
		}
		clear(recs)
		spare = recs
	}
}

// close applies what is queued and stops the writer.
func (w *indexWriter) close() {
	w.mu.Lock()
	w.stop = true
	w.cond.Broadcast()
	w.mu.Unlock()
	<-w.done
}

// apply writes one batch of records. A record the tailer has already
// applied is skipped (the tailer's carries the store time); a producer
// state is written only if it is newer than the stored one, since the
// tailer may apply an old commit after an append reported a newer one.
func (w *indexWriter) apply(recs []indexRec) error {
	x := w.x
	exact := x.exactPosition()
	b := x.db.NewBatch()
	defer b.Close()
	var appended []uint64
	written := make(map[string]uint64) // producer key → commit seq, in this batch
	var key []byte
	for i := range recs {
		r := &recs[i]
		switch {
		case r.seq <= exact: // the tailer has written it, with its store time
			continue
		case r.fromLog:
			exact = r.seq
		default:
			appended = append(appended, r.seq)
		}
		if r.name == "" {
			continue
		}
		c, err := decodeCommit(r.body)
		if err != nil {
			w.log.Warn("eventstore: skipping a log message that is not a Rewind commit",
				"seq", r.seq, "stream", r.name, "err", err)
			continue
		}
		// Key and value are written straight into the batch's buffer.
		key = appendCommitKey(key[:0], r.name, c.lastVersion())
		op := b.SetDeferred(len(key), 16+len(r.body))
		copy(op.Key, key)
		binary.BigEndian.PutUint64(op.Value, r.seq)
		binary.BigEndian.PutUint64(op.Value[8:], uint64(r.stored))
		copy(op.Value[16:], r.body)
		if err := op.Finish(); err != nil {
			return err
		}
		if pm := c.producer; pm != nil {
			key := producerKey(r.name, pm.id)
			if newer, err := w.producerNewer(key, r.seq, written); err != nil {
				return err
			} else if !newer {
				continue
			}
			pv := binary.AppendUvarint(nil, pm.epoch)
			pv = binary.AppendUvarint(pv, pm.lastSeq)
			pv = binary.AppendUvarint(pv, r.seq)
			if err := b.Set(key, pv, nil); err != nil {
				return err
			}
			written[string(key)] = r.seq
		}
	}
	if err := b.Set(keyCheckpoint, binary.BigEndian.AppendUint64(nil, exact), nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	x.applied(exact, appended)
	return nil
}

// producerNewer reports whether the commit at seq is newer than the stored
// state under key (in this batch or in the index).
func (w *indexWriter) producerNewer(key []byte, seq uint64, written map[string]uint64) (bool, error) {
	if prev, ok := written[string(key)]; ok {
		return seq > prev, nil
	}
	v, err := w.x.get(key)
	if err != nil || v == nil {
		return err == nil, err
	}
	d := decoder{b: v}
	d.uvarint()
	d.uvarint()
	prev := d.uvarint()
	return d.err != nil || seq > prev, nil
}
