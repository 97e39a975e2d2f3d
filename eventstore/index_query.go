package eventstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Queries of the read index: a stream's head, a producer's state, a
// stream's events. Each is answered as of a covered log position: every
// commit up to it is in the index, and a commit above it (this process's
// own append, entered before the tailer reached it) is not used, because a
// commit of another writer below it may still be missing. A read must never
// yield version n+1 without version n.

// Key construction.

func streamPrefix(kind byte, name string) []byte {
	b := make([]byte, 0, len(name)+10)
	b = append(b, kind)
	b = append(b, name...)
	return append(b, 0)
}

func commitKey(name string, lastVersion uint64) []byte {
	return appendCommitKey(make([]byte, 0, len(name)+10), name, lastVersion)
}

func appendCommitKey(b []byte, name string, lastVersion uint64) []byte {
	b = append(b, 'c')
	b = append(b, name...)
	b = append(b, 0)
	return binary.BigEndian.AppendUint64(b, lastVersion)
}

func producerKey(name, id string) []byte {
	return append(streamPrefix('p', name), id...)
}

// commandKey holds the outcome of the commit recorded for a command id.
func commandKey(name, id string) []byte {
	return appendCommandKey(make([]byte, 0, commandKeyLen(name, id)), name, id)
}

// commandKeyLen is the length of the key appendCommandKey appends.
func commandKeyLen(name, id string) int { return len(name) + 2 + len(id) }

func appendCommandKey(b []byte, name, id string) []byte {
	b = append(b, 'k')
	b = append(b, name...)
	b = append(b, 0)
	return append(b, id...)
}

// commandOutcome is what the index keeps of the commit recorded for a
// command id: enough to give the append's result again.
type commandOutcome struct {
	seq    uint64
	last   uint64 // the commit's last version
	count  uint32
	stored int64  // Unix ns
	data   []byte // WithCommandData's, nil if none
}

func (c commandOutcome) encode() []byte { return c.appendTo(make([]byte, 0, c.size())) }

// size is the length of c's encoding.
func (c commandOutcome) size() int {
	if c.data == nil {
		return 28
	}
	return 29 + len(c.data)
}

func (c commandOutcome) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, c.seq)
	b = binary.BigEndian.AppendUint64(b, c.last)
	b = binary.BigEndian.AppendUint32(b, c.count)
	b = binary.BigEndian.AppendUint64(b, uint64(c.stored))
	if c.data != nil {
		b = append(b, 1) // data follows (none and empty differ)
		b = append(b, c.data...)
	}
	return b
}

// command returns the outcome recorded for a command id on the stream.
func (x *index) command(name, id string) (commandOutcome, bool, error) {
	v, err := x.get(commandKey(name, id))
	if err != nil || v == nil {
		return commandOutcome{}, false, err
	}
	if len(v) < 28 || len(v) > 28 && v[28] != 1 {
		return commandOutcome{}, false, fmt.Errorf("%w: index record of command %q", ErrCorrupt, id)
	}
	co := commandOutcome{seq: binary.BigEndian.Uint64(v), last: binary.BigEndian.Uint64(v[8:]),
		count: binary.BigEndian.Uint32(v[16:]), stored: int64(binary.BigEndian.Uint64(v[20:]))}
	if len(v) > 28 {
		co.data = bytes.Clone(v[29:])
		if co.data == nil {
			co.data = []byte{}
		}
	}
	return co, true, nil
}

// foreignKey holds the log sequence of the newest message on a stream's
// subject that is not one of its commits.
func foreignKey(name string) []byte { return streamPrefix('x', name) }

// upperBound returns the smallest key after every key with the prefix p
// (p ends in 0x00, so bumping it to 0x01 is enough).
func upperBound(p []byte) []byte {
	u := bytes.Clone(p)
	u[len(u)-1] = 1
	return u
}

// indexedCommit is one commit as the index returns it.
type indexedCommit struct {
	seq    uint64
	stored time.Time
	commit
}

// decodeIndexed decodes an index value: seq(8) storedAt(8) commit body.
func decodeIndexed(v []byte) (indexedCommit, error) {
	var ic indexedCommit
	if err := ic.decode(v); err != nil {
		return indexedCommit{}, err
	}
	return ic, nil
}

// decode is decodeIndexed into ic, which a read of a stream's commits
// reuses (see commit.decodeHeader). On an error ic must not be used.
func (ic *indexedCommit) decode(v []byte) error {
	if len(v) < 16 {
		return fmt.Errorf("%w: short index record", ErrCorrupt)
	}
	if err := ic.decodeHeader(v[16:]); err != nil { // checked when it entered the index
		return fmt.Errorf("index record: %w", err)
	}
	ic.seq = binary.BigEndian.Uint64(v)
	ic.stored = time.Unix(0, int64(binary.BigEndian.Uint64(v[8:])))
	return nil
}

func decodeIndexedAt(it *pebble.Iterator) (indexedCommit, error) {
	v, err := it.ValueAndErr()
	if err != nil {
		return indexedCommit{}, err
	}
	return decodeIndexed(v)
}

// head is what the store knows of a stream's end.
type head struct {
	version uint64 // 0: no stream
	seq     uint64 // JetStream sequence of the last commit, 0 when none
	subjSeq uint64 // of the last message on the stream's subject (≥ seq): what an append expects
	count   uint32 // events in the last commit
	stored  time.Time
	closed  bool // the stream is closed (WithClose): nothing more is appended
}

// lastOffset is the offset of the stream's last event (Start when it has
// none), as Head gives it: what ExpectLast compares.
func (h head) lastOffset() Offset {
	if h.version == 0 {
		return Start
	}
	return commitEnd(h.seq).offset()
}

// storedNs is the last commit's store time in Unix ns (0: none).
func (h head) storedNs() int64 {
	if h.stored.IsZero() {
		return 0
	}
	return h.stored.UnixNano()
}

// head returns the stream's head as of covered (see the top of the file).
func (x *index) head(name string, covered uint64) (head, error) {
	c, ok, err := x.lastCommitAtOrBefore(name, covered)
	if err != nil {
		return head{}, err
	}
	var h head
	if ok {
		h = head{version: c.lastVersion(), seq: c.seq, subjSeq: c.seq, count: uint32(c.count), stored: c.stored}
	}
	v, err := x.get(foreignKey(name))
	if err != nil {
		return head{}, err
	}
	if len(v) == 8 {
		if f := binary.BigEndian.Uint64(v); f <= covered {
			h.subjSeq = max(h.subjSeq, f)
		}
	}
	v, err = x.get(closedKey(name))
	if err != nil {
		return head{}, err
	}
	if len(v) == 8 {
		if z := binary.BigEndian.Uint64(v); z <= covered {
			h.subjSeq, h.closed = max(h.subjSeq, z), true
		}
	}
	return h, nil
}

// lastVersionBefore returns the last version of the stream's commits below
// log sequence seq (0: none).
func (x *index) lastVersionBefore(name string, seq uint64) (uint64, error) {
	c, ok, err := x.lastCommitAtOrBefore(name, seq-1)
	if err != nil || !ok {
		return 0, err
	}
	return c.lastVersion(), nil
}

// lastCommitAtOrBefore returns the stream's last commit at or below log
// sequence seq: its newest one, or, when that is above seq (this
// process's appends beyond the tailer), found by binary search over
// versions, since a stream's versions and log sequences grow together.
func (x *index) lastCommitAtOrBefore(name string, seq uint64) (indexedCommit, bool, error) {
	it, err := x.commitIter(name)
	if err != nil {
		return indexedCommit{}, false, err
	}
	defer it.Close()
	if !it.Last() {
		return indexedCommit{}, false, it.Error()
	}
	c, err := decodeIndexedAt(it)
	if err != nil || c.seq <= seq {
		return c, err == nil, err
	}
	// The first version whose commit is above seq lies in [lo, hi].
	lo, hi := uint64(1), c.firstVersion
	for lo < hi {
		mid := lo + (hi-lo)/2
		if !it.SeekGE(commitKey(name, mid)) {
			return indexedCommit{}, false, it.Error()
		}
		m, err := decodeIndexedAt(it)
		if err != nil {
			return indexedCommit{}, false, err
		}
		if m.seq > seq {
			hi = min(mid, m.firstVersion)
		} else {
			lo = m.lastVersion() + 1
		}
	}
	for ok := it.SeekLT(commitKey(name, lo)); ok; ok = it.Prev() {
		c, err := decodeIndexedAt(it)
		if err != nil {
			return indexedCommit{}, false, err
		}
		if c.seq <= seq {
			return c, true, nil
		}
	}
	return indexedCommit{}, false, it.Error()
}

// holdsCommit reports whether the index holds the message at log sequence
// seq as the stream's commit whose last version is last.
func (x *index) holdsCommit(name string, last, seq uint64) (bool, error) {
	v, err := x.get(commitKey(name, last))
	return len(v) >= 8 && binary.BigEndian.Uint64(v) == seq, err
}

// producerState is the stored state of one producer on one stream.
type producerState struct {
	epoch     uint64
	lastSeq   uint64
	commitSeq uint64 // log sequence of the commit that set it
}

func (x *index) producer(name, id string) (producerState, bool, error) {
	v, err := x.get(producerKey(name, id))
	if err != nil || v == nil {
		return producerState{}, false, err
	}
	d := decoder{b: v}
	st := producerState{epoch: d.uvarint(), lastSeq: d.uvarint(), commitSeq: d.uvarint()}
	if d.err != nil {
		return producerState{}, false, fmt.Errorf("index record of producer %q: %w", id, d.err)
	}
	return st, true, nil
}

// readStream yields the stream's events that b lets through, in order,
// with each event's position, as of covered: it stops before the first
// commit above covered. Versions must follow each other; a hole is an
// error wrapping ErrCorrupt, never a skipped event.
func (x *index) readStream(name string, b *bounds, covered uint64, yield func(Event, position) bool) error {
	it, err := x.commitIter(name)
	if err != nil {
		return err
	}
	defer it.Close()
	from := max(b.fromVersion, 1)
	if b.after.seq > 0 {
		v, err := x.firstVersionAtOrAfter(it, name, b.after.seq)
		if err != nil {
			return err
		}
		from = max(from, v)
	}
	stop := false
	// The iterator reuses its buffer; events handed out keep their data,
	// so eachEvent copies each event's data into the read's arena, unless
	// the caller borrows it (BorrowData): yield runs before the iterator
	// moves, so the value is intact while the loop body has the event.
	a := &arena{copyData: !b.borrow}
	next := uint64(0) // the version the next commit must start at (0: any, the first)
	var c indexedCommit
	for ok := it.SeekGE(commitKey(name, from)); ok && !stop; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if err := c.decode(v); err != nil {
			return err
		}
		if c.seq > covered {
			return nil
		}
		if next != 0 && c.firstVersion != next {
			return fmt.Errorf("%w: index of %q holds version %d after version %d", ErrCorrupt, name, c.firstVersion, next-1)
		}
		next = c.lastVersion() + 1
		if !b.toTime.IsZero() && c.stored.After(b.toTime) {
			b.ended = true
			return nil
		}
		err = c.eachEvent(name, c.seq, c.stored, a, func(e Event) bool {
			pos := eventPosition(c.seq, int(e.Version-c.firstVersion), c.count)
			skip, end := b.check(&e, pos)
			if end || !skip && !yield(e, pos) {
				stop = true
				return false
			}
			return true
		})
		if err != nil {
			return err
		}
	}
	return it.Error()
}

// firstVersionAtOrAfter finds, by binary search over versions, the first
// version of the first commit whose log sequence is at least seq (or one
// past the last version when there is none). Seeking by version is the
// natural access; this turns an offset into a version in O(log n) seeks.
func (x *index) firstVersionAtOrAfter(it *pebble.Iterator, name string, seq uint64) (uint64, error) {
	if !it.Last() {
		return 1, it.Error()
	}
	last, err := decodeIndexedAt(it)
	if err != nil {
		return 0, err
	}
	if last.seq < seq {
		return last.lastVersion() + 1, nil
	}
	lo, hi := uint64(1), last.lastVersion() // the answer lies in [lo, hi]
	for lo < hi {
		mid := lo + (hi-lo)/2
		if !it.SeekGE(commitKey(name, mid)) {
			return 0, errors.Join(fmt.Errorf("%w: version %d of %q missing", ErrCorrupt, mid, name), it.Error())
		}
		c, err := decodeIndexedAt(it)
		if err != nil {
			return 0, err
		}
		if c.seq >= seq {
			hi = min(mid, c.firstVersion)
		} else {
			lo = c.lastVersion() + 1
		}
	}
	return lo, nil
}

// closedKey holds the log sequence of the commit that closed the stream.
func closedKey(name string) []byte { return streamPrefix('z', name) }

// holdsMarker reports whether the index recorded the event-less commit at
// seq: the close (closedKey) or, for a tombstone, the subject's newest
// message at or after it.
func (x *index) holdsMarker(name string, seq uint64, tombstone bool) (bool, error) {
	key := closedKey(name)
	if tombstone {
		key = foreignKey(name)
	}
	v, err := x.get(key)
	if err != nil || len(v) != 8 {
		return false, err
	}
	if tombstone {
		return binary.BigEndian.Uint64(v) >= seq, nil
	}
	return binary.BigEndian.Uint64(v) == seq, nil
}

// dropStream deletes, in b, what the index holds of the stream's commits
// below the tombstone at log sequence tomb: its commits and their
// log-ordered copies, command ids, producer states and close. Commits
// above it belong to the stream made again after the delete and stay;
// top is the highest version of those (0: none), the stream's top once b
// is committed (index_tops.go). The cost follows the stream.
func (x *index) dropStream(b *pebble.Batch, name string, tomb uint64) (top uint64, err error) {
	for _, kind := range []byte{'c', 'k', 'p', 'z'} {
		p := streamPrefix(kind, name)
		var it *pebble.Iterator
		var err error
		if kind == 'c' {
			it, err = x.commitIter(name)
		} else {
			it, err = x.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: upperBound(p)})
		}
		if err != nil {
			return 0, err
		}
		for ok := it.First(); ok && err == nil; ok = it.Next() {
			var kept bool
			if kept, err = x.dropKey(b, it, kind, tomb); kept && kind == 'c' {
				top = binary.BigEndian.Uint64(it.Key()[len(p):])
			}
		}
		if err = errors.Join(err, it.Close()); err != nil {
			return 0, err
		}
	}
	return top, nil
}

// dropKey deletes, in b, the key it is at (of the given kind) if it
// belongs to a commit below the tombstone at tomb, with a commit's
// log-ordered copy and event-id keys; kept reports the keys it leaves.
func (x *index) dropKey(b *pebble.Batch, it *pebble.Iterator, kind byte, tomb uint64) (kept bool, err error) {
	v, err := it.ValueAndErr()
	if err != nil {
		return false, err
	}
	var seq uint64
	switch kind {
	case 'c', 'k', 'z':
		if len(v) >= 8 {
			seq = binary.BigEndian.Uint64(v)
		}
	case 'p':
		d := decoder{b: v}
		d.uvarint()
		d.uvarint()
		seq = d.uvarint()
	}
	if seq >= tomb {
		return true, nil
	}
	if err := b.Delete(it.Key(), nil); err != nil {
		return false, err
	}
	if kind != 'c' {
		return false, nil
	}
	if len(v) >= 16 {
		if err := x.dropEventIDs(b, seq, v[16:]); err != nil {
			return false, err
		}
	}
	var ok [orderedKeyLen]byte
	putOrderedKey(ok[:], seq)
	return false, b.Delete(ok[:], nil)
}

// purgeKey records a delete whose purge is yet to be made: its
// tombstone's log sequence and its stream (completePurges).
func purgeKey(seq uint64, name string) []byte {
	b := make([]byte, 0, 9+len(name))
	b = append(b, 'u')
	b = binary.BigEndian.AppendUint64(b, seq)
	return append(b, name...)
}

// eachPurge calls fn with each recorded purge, in log order, until fn
// fails.
func (x *index) eachPurge(fn func(key []byte, seq uint64, name string) error) error {
	it, err := x.db.NewIter(&pebble.IterOptions{LowerBound: []byte{'u'}, UpperBound: []byte{'v'}})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) < 10 {
			continue
		}
		if err := fn(bytes.Clone(k), binary.BigEndian.Uint64(k[1:9]), string(k[9:])); err != nil {
			return err
		}
	}
	return it.Error()
}
