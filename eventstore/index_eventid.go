package eventstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// The event-id keys of the read index: where each event of the index is,
// by its ID, so that EventByID costs a few point reads of the index and
// not a scan of the log (a debugger's "find this event", an id from a log
// line or a trace).
//
//	'e' id(16)          → uvarint(seq) uvarint(i): the i-th event of the commit at seq
//	'E' t(8) seq(8)     → uvarint(i) uvarint(n): events i..i+n-1 of the commit at seq
//	                      have version 7 IDs whose time fields are t..t+n-1
//
// The store gives the events of one append that have no ID consecutive
// time fields (idGen.fill), so a commit of a hundred such events needs one
// 'E' key instead of a hundred 'e' keys. That matters to batched appends:
// a 100-message HTTP POST wrote 102 keys to the index, two of them
// carrying its body; the event-id keys, about a fifth of the bytes, were
// almost every key pebble's flushes and compactions went through one by
// one. A run of consecutive time fields is at most maxIDRun long (a commit
// of more events takes several 'E' keys), so a lookup reads the 'E' keys
// of the last maxIDRun time fields up to the ID's own, about a millisecond
// of IDs: a run that holds the ID starts there. An event whose ID is in no
// run of two or more (a caller's own ID, of any version) has its 'e' key.
//
// Runs of other processes' stores (a cluster) may overlap: every run that
// covers the ID's time field is a candidate, and the event found is the
// one whose ID is the ID asked for, of the newest commit when several are.
// Keys are written in the batch that enters the commit, beside its
// log-ordered copy (which the lookup reads the event from), and deleted
// with it by a tombstone (an 'e' key only when it still points at the
// commit: two events with one ID leave the newer one's key).

const eventIDKeyLen = 17

// eventRunKeyLen is the length of an 'E' key.
const eventRunKeyLen = 17

// maxIDRun is the most time fields one 'E' key covers: 4,096 is one
// millisecond of IDs made at the clock's pace.
const maxIDRun = 4096

func putEventIDKey(b []byte, id uuid.UUID) {
	b[0] = 'e'
	copy(b[1:], id[:])
}

func putEventRunKey(b []byte, t, seq uint64) {
	b[0] = 'E'
	binary.BigEndian.PutUint64(b[1:], t)
	binary.BigEndian.PutUint64(b[9:], seq)
}

// idRun is a run of a commit's events with consecutive version 7 IDs (n
// of them from the i-th, time fields from t), or one event of any ID (n
// 1, id its ID).
type idRun struct {
	t    uint64
	i, n int
	id   uuid.UUID
}

// eachIDRun calls fn with the runs of a commit's events, in order.
func eachIDRun(body []byte, fn func(idRun) error) error {
	c, err := decodeCommitHeader(body) // checked when it entered the index
	if err != nil {
		return err
	}
	d := decoder{b: c.events}
	var run idRun
	v7 := false // run's IDs are version 7
	for i := 0; i < c.count; i++ {
		id := d.id()
		if err := skipEventRest(&d); err != nil {
			return err
		}
		t, ok := idTime(id)
		if run.n > 0 && v7 && ok && t == run.t+uint64(run.n) && run.n < maxIDRun {
			run.n++
			continue
		}
		if run.n > 0 {
			if err := fn(run); err != nil {
				return err
			}
		}
		run, v7 = idRun{t: t, i: i, n: 1, id: id}, ok
	}
	if run.n > 0 {
		return fn(run)
	}
	return nil
}

// writeEventIDs writes the event-id keys of a commit entered at seq.
func writeEventIDs(b *pebble.Batch, seq uint64, body []byte) error {
	return eachIDRun(body, func(r idRun) error {
		if r.n == 1 {
			op := b.SetDeferred(eventIDKeyLen, uvarintLen(seq)+uvarintLen(uint64(r.i)))
			putEventIDKey(op.Key, r.id)
			n := binary.PutUvarint(op.Value, seq)
			binary.PutUvarint(op.Value[n:], uint64(r.i))
			return op.Finish()
		}
		op := b.SetDeferred(eventRunKeyLen, uvarintLen(uint64(r.i))+uvarintLen(uint64(r.n)))
		putEventRunKey(op.Key, r.t, seq)
		n := binary.PutUvarint(op.Value, uint64(r.i))
		binary.PutUvarint(op.Value[n:], uint64(r.n))
		return op.Finish()
	})
}

// skipEventRest moves d past an event's fields after its ID.
func skipEventRest(d *decoder) error {
	d.bytes() // type
	d.varint()
	nm := d.uvarint()
	if nm > uint64(len(d.b)-d.off) {
		d.fail("metadata")
	}
	for j := uint64(0); j < nm && d.err == nil; j++ {
		d.bytes()
		d.bytes()
	}
	d.bytes() // data
	return d.err
}

// dropEventIDs deletes the event-id keys of the commit at seq (a
// tombstone's purge): its 'E' keys, and its 'e' keys that still point at
// it.
func (x *index) dropEventIDs(b *pebble.Batch, seq uint64, body []byte) error {
	return eachIDRun(body, func(r idRun) error {
		if r.n > 1 {
			var key [eventRunKeyLen]byte
			putEventRunKey(key[:], r.t, seq)
			return b.Delete(key[:], nil)
		}
		var key [eventIDKeyLen]byte
		putEventIDKey(key[:], r.id)
		v, err := x.get(key[:])
		if err != nil {
			return err
		}
		if at, _ := binary.Uvarint(v); at == seq {
			return b.Delete(key[:], nil)
		}
		return nil
	})
}

// eventByID finds the event with ID id among the commits up to covered:
// the newest of the one its 'e' key points at and those of the 'E' runs
// that cover its time field.
func (x *index) eventByID(id uuid.UUID, covered uint64) (Event, bool, error) {
	var found Event
	var foundSeq uint64
	ok := false
	try := func(seq, i uint64) error {
		if seq > covered || ok && seq <= foundSeq {
			return nil
		}
		e, is, err := x.eventAt(seq, i)
		if err != nil || !is || e.ID != id {
			return err
		}
		found, foundSeq, ok = e, seq, true
		return nil
	}
	var key [eventIDKeyLen]byte
	putEventIDKey(key[:], id)
	v, err := x.get(key[:])
	if err != nil {
		return Event{}, false, err
	}
	if v != nil {
		seq, n := binary.Uvarint(v)
		i, m := binary.Uvarint(v[max(n, 0):])
		if n <= 0 || m <= 0 {
			return Event{}, false, fmt.Errorf("%w: event-id index record of %s", ErrCorrupt, id)
		}
		if err := try(seq, i); err != nil {
			return Event{}, false, err
		}
	}
	t, v7 := idTime(id)
	if !v7 {
		return found, ok, nil
	}
	var lo, hi [eventRunKeyLen]byte
	putEventRunKey(lo[:], max(t, maxIDRun-1)-(maxIDRun-1), 0)
	putEventRunKey(hi[:], t+1, 0)
	it, err := x.db.NewIter(&pebble.IterOptions{LowerBound: lo[:], UpperBound: hi[:]})
	if err != nil {
		return Event{}, false, err
	}
	defer it.Close()
	for more := it.First(); more; more = it.Next() {
		k := it.Key()
		start, seq := binary.BigEndian.Uint64(k[1:]), binary.BigEndian.Uint64(k[9:])
		v, err := it.ValueAndErr()
		if err != nil {
			return Event{}, false, err
		}
		i, n := binary.Uvarint(v)
		count, m := binary.Uvarint(v[max(n, 0):])
		if n <= 0 || m <= 0 {
			return Event{}, false, fmt.Errorf("%w: event-id run record at %d", ErrCorrupt, seq)
		}
		if t-start >= count {
			continue // the run ends before t
		}
		if err := try(seq, i+t-start); err != nil {
			return Event{}, false, err
		}
	}
	if err := it.Error(); err != nil {
		return Event{}, false, err
	}
	return found, ok, nil
}

// eventAt reads the i-th event of the commit at seq from the log-ordered
// copy; ok is false when the index holds no such event (the commit was
// deleted since).
func (x *index) eventAt(seq, i uint64) (Event, bool, error) {
	rec, err := x.get(orderedKey(seq))
	if err != nil || rec == nil {
		return Event{}, false, err
	}
	stored, name, body, err := orderedRecord(rec)
	if err != nil {
		return Event{}, false, err
	}
	c, err := decodeCommitHeader(body)
	if err != nil {
		return Event{}, false, fmt.Errorf("log-ordered index record: %w", err)
	}
	var found Event
	ok := false
	err = c.eachEvent(string(name), seq, time.Unix(0, stored), newArena(), func(e Event) bool {
		if uint64(e.Version-c.firstVersion) == i {
			found, ok = e, true
			return false
		}
		return true
	})
	return found, ok, err
}

// EventByID returns the event whose ID is id, with its stream, version
// and offset, from the read index (a few reads, whatever the log's
// size), seeing every append acknowledged before the call. An ID no event
// in the store has is an error wrapping ErrNotFound, as is the ID of an
// event of a stream deleted since. When two events were stored with one
// ID (IDs given by the caller), it returns the one stored last; once that
// one's stream is deleted the ID may find nothing (ErrNotFound), though
// the older event is still stored: the index keeps one place per ID.
func (s *Store) EventByID(ctx context.Context, id uuid.UUID) (Event, error) {
	if s.closed.Load() {
		return Event{}, ErrClosed
	}
	target, err := s.readTarget(ctx)
	if err != nil {
		return Event{}, fmt.Errorf("eventstore: event %s: %w", id, err)
	}
	var e Event
	var ok bool
	err = s.withIndex(ctx, target, func(x *index, covered uint64) error {
		e, ok, err = x.eventByID(id, covered)
		return err
	})
	if err != nil {
		return Event{}, fmt.Errorf("eventstore: event %s: %w", id, err)
	}
	if !ok {
		return Event{}, fmt.Errorf("eventstore: event %s: %w", id, ErrNotFound)
	}
	return e, nil
}
