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
// by its ID, so that EventByID costs two point reads of the index and not
// a scan of the log (a debugger's "find this event", an id from a log line
// or a trace).
//
//	'e' id(16) → uvarint(seq) uvarint(i): the i-th event of the commit at seq
//
// They are written in the batch that enters the commit, beside its
// log-ordered copy (which the lookup reads the event from), and deleted
// with it by a tombstone. The key holds the whole ID because IDs may be
// the caller's own; two events with one ID leave the newer one's key (the
// later write), and a lookup checks the event it finds has the ID.
// About 20 bytes per event before pebble's prefix and block compression
// (UUID v7s made by the store share their leading milliseconds).

const eventIDKeyLen = 17

func putEventIDKey(b []byte, id uuid.UUID) {
	b[0] = 'e'
	copy(b[1:], id[:])
}

// writeEventIDs writes the event-id keys of a commit entered at seq.
func writeEventIDs(b *pebble.Batch, seq uint64, body []byte) error {
	c, err := decodeCommitHeader(body) // checked when it entered the index
	if err != nil {
		return err
	}
	d := decoder{b: c.events}
	for i := 0; i < c.count; i++ {
		id := d.id()
		if err := skipEventRest(&d); err != nil {
			return err
		}
		op := b.SetDeferred(eventIDKeyLen, uvarintLen(seq)+uvarintLen(uint64(i)))
		putEventIDKey(op.Key, id)
		n := binary.PutUvarint(op.Value, seq)
		binary.PutUvarint(op.Value[n:], uint64(i))
		if err := op.Finish(); err != nil {
			return err
		}
	}
	return nil
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
// tombstone's purge), those that still point at it.
func (x *index) dropEventIDs(b *pebble.Batch, seq uint64, body []byte) error {
	c, err := decodeCommitHeader(body)
	if err != nil {
		return err
	}
	d := decoder{b: c.events}
	var key [eventIDKeyLen]byte
	for i := 0; i < c.count; i++ {
		putEventIDKey(key[:], d.id())
		if err := skipEventRest(&d); err != nil {
			return err
		}
		v, err := x.get(key[:])
		if err != nil {
			return err
		}
		if at, _ := binary.Uvarint(v); at == seq {
			if err := b.Delete(key[:], nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// eventByID finds the event with ID id among the commits up to covered.
func (x *index) eventByID(id uuid.UUID, covered uint64) (Event, bool, error) {
	var key [eventIDKeyLen]byte
	putEventIDKey(key[:], id)
	v, err := x.get(key[:])
	if err != nil || v == nil {
		return Event{}, false, err
	}
	seq, n := binary.Uvarint(v)
	i, m := binary.Uvarint(v[max(n, 0):])
	if n <= 0 || m <= 0 {
		return Event{}, false, fmt.Errorf("%w: event-id index record of %s", ErrCorrupt, id)
	}
	if seq > covered {
		return Event{}, false, nil
	}
	rec, err := x.get(orderedKey(seq))
	if err != nil || rec == nil {
		return Event{}, false, err // nil: the commit was deleted since
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
			found, ok = e, e.ID == id
			return false
		}
		return true
	})
	return found, ok, err
}

// EventByID returns the event whose ID is id, with its stream, version
// and offset, from the read index (two point reads, whatever the log's
// size), seeing every append acknowledged before the call. An ID no event
// in the store has is an error wrapping ErrNotFound, as is the ID of an
// event of a stream deleted since. When two events were stored with one
// ID (IDs given by the caller), it returns the one stored last.
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
