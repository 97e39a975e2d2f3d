package eventstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
)

// The log-ordered copy of the commits in the read index. Reading the whole
// log, or a category, in log order through a JetStream ordered consumer
// costs a server round trip per pull, a message and its metadata per
// commit, and tops out below what an embedded SQLite table scans at (482k
// against 816k events/s in BENCHMARKS.md); pebble scans the same commits,
// stored in log order, at about 6M records/s with the pages in memory and
// 1.7M from a cold page cache (1M records of ~250 B, 2 cores). So the index keeps a second
// copy of each commit it holds under its log sequence, written in the same
// batch as the rest of what it indexes for the commit, and ReadAll,
// ReadCategory and the catch-up of their subscriptions read it up to the
// position the index covers, then go on from the log.
//
// The copy is derived like the rest of the index: it holds exactly the
// commits the index accepted (a message the writer skips as not a commit of
// its stream is never copied), so a read from it and a read of the log
// give the same events, and it is rebuilt with the index.
//
//	'o' seq(8, big-endian) → storedAt(8) uvarint(len(name)) name commit body

const orderedKeyLen = 9

func putOrderedKey(b []byte, seq uint64) {
	b[0] = 'o'
	binary.BigEndian.PutUint64(b[1:], seq)
}

func orderedKey(seq uint64) []byte {
	b := make([]byte, orderedKeyLen)
	putOrderedKey(b, seq)
	return b
}

func orderedValueLen(name string, body []byte) int {
	return 8 + uvarintLen(uint64(len(name))) + len(name) + len(body)
}

func putOrderedValue(b []byte, name string, stored int64, body []byte) {
	binary.BigEndian.PutUint64(b, uint64(stored))
	n := binary.PutUvarint(b[8:], uint64(len(name)))
	n += copy(b[8+n:], name)
	copy(b[8+n:], body)
}

func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// orderedRecord splits an ordered value into its parts; the slices alias v.
func orderedRecord(v []byte) (stored int64, name, body []byte, err error) {
	if len(v) < 9 {
		return 0, nil, nil, fmt.Errorf("%w: short log-ordered index record", ErrCorrupt)
	}
	stored = int64(binary.BigEndian.Uint64(v))
	l, n := binary.Uvarint(v[8:])
	if n <= 0 || l > uint64(len(v)-8-n) {
		return 0, nil, nil, fmt.Errorf("%w: log-ordered index record with a bad name", ErrCorrupt)
	}
	name = v[8+n : 8+n+int(l)]
	return stored, name, v[8+n+int(l):], nil
}

// nameMatch selects the streams a log-ordered read delivers.
type nameMatch struct {
	category string // "": every stream
	prefix   []byte // category + "/"
}

func matchCategory(category string) nameMatch {
	return nameMatch{category: category, prefix: []byte(category + "/")}
}

func (m nameMatch) match(name []byte) bool {
	return m.category == "" || string(name) == m.category || bytes.HasPrefix(name, m.prefix)
}

// readOrdered yields, in log order, the events of the commits of the
// streams m selects from the commit at b.after (the events after it) up to
// the commit at to, with each event's position, stopping where b ends the
// read. Every commit up to to must be in the index.
func (x *index) readOrdered(m nameMatch, b *bounds, to uint64, yield func(Event, position) bool) error {
	from := max(b.after.seq, 1)
	if from > to {
		return nil
	}
	it, err := x.db.NewIter(&pebble.IterOptions{LowerBound: orderedKey(from), UpperBound: orderedKey(to + 1)})
	if err != nil {
		return err
	}
	defer it.Close()
	a := newArena()
	stop := false
	for ok := it.First(); ok && !stop; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		_, name, _, err := orderedRecord(v)
		if err != nil {
			return err
		}
		if !m.match(name) {
			continue
		}
		// The iterator reuses its buffer; events handed out keep their
		// data and their stream's name, so the record is copied (into the
		// read's arena, whose bytes are never written again).
		stored, name, body, _ := orderedRecord(a.clone(v))
		c, err := decodeCommitHeader(body) // checked when it entered the index
		if err != nil {
			return fmt.Errorf("log-ordered index record: %w", err)
		}
		seq := binary.BigEndian.Uint64(it.Key()[1:])
		at := time.Unix(0, stored)
		if !b.toTime.IsZero() && at.After(b.toTime) {
			b.ended = true
			return nil
		}
		stream := unsafe.String(unsafe.SliceData(name), len(name))
		err = c.eachEvent(stream, seq, at, a, func(e Event) bool {
			pos := eventPosition(seq, int(e.Version-c.firstVersion), c.count)
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
