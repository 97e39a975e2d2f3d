package eventstore

import (
	"fmt"
	"strconv"
)

// Offset is an opaque position in the log, between two events.
//
// Every event carries the offset right after it: a reader that saves the
// offset of the last event it handled and later reads from that offset gets
// exactly the events that followed, nothing twice and nothing skipped. The
// same offsets address one stream, a category or the whole log, because
// they are positions in the one JetStream log that holds them all.
//
// Offsets have a fixed width and compare as plain strings in log order, so
// "a < b" tells which came first, and each position has exactly one string,
// so "a == b" tells whether they are the same. They contain only digits and
// "_" (never ",", "&", "=", "?" or "/"), so they travel in URLs unescaped.
// Start is the position before the first event; Now is a sentinel for the
// tail, resolved when used. ParseOffset also takes "-1" for Start, as the
// Durable Streams protocol spells it.
type Offset string

const (
	// Start is the position before the first event: the offset of an
	// empty stream's Head and of an empty log's Tail.
	Start Offset = "00000000000000000000_000000"
	// Now is the current tail: a read from Now returns nothing, a
	// subscription from Now sees only events appended after it began.
	Now Offset = "now"
)

// startAlias is how the Durable Streams protocol spells Start.
const startAlias = "-1"

// The format is "SSSSSSSSSSSSSSSSSSSS_IIIIII": the JetStream sequence of a
// commit (one message holding all the events of one Append), and how many of
// that commit's events lie before the position, where 999999 stands for all
// of them. Every position has exactly one string, so offsets can be compared
// for equality as well as for order:
//   - the i-th event (0-based) of commit s carries (s, i+1), except the
//     commit's last event, which carries (s, 999999): the position after the
//     whole commit, whatever the number of its events;
//   - the start of the log, before any commit, is (0, 0); it is what an empty
//     stream's head and an empty log's tail are;
//   - (s, 0) for s > 0 would be the position after commit s-1, which is
//     (s-1, 999999), and is not an offset; nor is (0, i) for i > 0.
//
// Head, Tail, AppendResult and every event's Offset follow these rules, so
// the offset of a stream's last event, its Head and (when it was the last
// append) the log's Tail are the same string.
const (
	seqDigits    = 20
	idxDigits    = 6
	offsetLen    = seqDigits + 1 + idxDigits
	maxOffsetIdx = 999999

	// MaxEventsPerAppend is the most events one Append may hold: an offset
	// addresses an event inside its commit with six digits.
	MaxEventsPerAppend = maxOffsetIdx
)

// position is a parsed offset: after idx events of the commit at seq
// (maxOffsetIdx: after all of them). (0, 0) is the start of the log.
type position struct {
	seq uint64
	idx uint32
}

// eventPosition is the position right after the i-th (0-based) of the
// count events of the commit at seq.
func eventPosition(seq uint64, i, count int) position {
	if i == count-1 {
		return position{seq: seq, idx: maxOffsetIdx}
	}
	return position{seq: seq, idx: uint32(i + 1)}
}

// commitEnd is the position after every event of the commit at seq (0: the
// start of the log).
func commitEnd(seq uint64) position {
	if seq == 0 {
		return position{}
	}
	return position{seq: seq, idx: maxOffsetIdx}
}

func (p position) less(q position) bool {
	return p.seq < q.seq || p.seq == q.seq && p.idx < q.idx
}

func (p position) offset() Offset {
	var b [offsetLen]byte
	p.put(b[:])
	return Offset(b[:])
}

// put formats p into b, which is offsetLen bytes long.
func (p position) put(b []byte) {
	putDigits(b[:seqDigits], p.seq)
	b[seqDigits] = '_'
	putDigits(b[seqDigits+1:offsetLen], uint64(p.idx))
}

// putDigits writes v's last len(b) decimal digits into b, zero-padded.
// Every event a read returns gets an offset, so it is on the read's path:
// two digits per division, and the leading zeros (most of a sequence's 20
// digits) copied rather than computed.
func putDigits(b []byte, v uint64) {
	i := len(b)
	for v >= 100 && i >= 2 {
		q := v / 100
		r := v - q*100
		i -= 2
		b[i], b[i+1] = digitPairs[2*r], digitPairs[2*r+1]
		v = q
	}
	for ; v > 0 && i > 0; v /= 10 {
		i--
		b[i] = byte('0' + v%10)
	}
	copy(b[:i], zeros)
}

const (
	digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
		"8081828384858687888990919293949596979899"
	zeros = "00000000000000000000" // seqDigits of them
)

// ParseOffset checks that s is an offset the store hands out, Now, or "-1"
// (Start), and returns it as an Offset. Anything else, including a string
// that would name a position in a form the store never hands out, is an
// error wrapping ErrInvalidOffset. It checks the form, not the log: a
// well-formed offset that counts more events of its commit than the
// commit holds (never handed out) is read as the position before that
// commit's last event.
func ParseOffset(s string) (Offset, error) {
	if s == startAlias {
		return Start, nil
	}
	o := Offset(s)
	if o == Now {
		return o, nil
	}
	if _, err := o.position(); err != nil {
		return "", err
	}
	return o, nil
}

// position parses a concrete offset (Now is not one, and is an error
// here; "-1" parses as Start).
func (o Offset) position() (position, error) {
	if o == startAlias {
		return position{}, nil
	}
	s := string(o)
	if len(s) != offsetLen || s[seqDigits] != '_' || !allDigits(s[:seqDigits]) || !allDigits(s[seqDigits+1:]) {
		return position{}, fmt.Errorf("%w: %q", ErrInvalidOffset, s)
	}
	seq, err := strconv.ParseUint(s[:seqDigits], 10, 64)
	if err != nil {
		return position{}, fmt.Errorf("%w: %q: sequence out of range", ErrInvalidOffset, s)
	}
	idx, _ := strconv.ParseUint(s[seqDigits+1:], 10, 32)
	if (seq == 0) != (idx == 0) {
		// (0, i) is no position; (s, 0) is (s-1, 999999), spelled once.
		return position{}, fmt.Errorf("%w: %q is not the canonical form of a position", ErrInvalidOffset, s)
	}
	return position{seq: seq, idx: uint32(idx)}, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String returns the offset as it is stored and sent.
func (o Offset) String() string { return string(o) }
