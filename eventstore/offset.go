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
// "a < b" tells which came first. They contain only digits and "_" (never
// ",", "&", "=", "?" or "/"), so they travel in URLs unescaped. Two
// sentinels stand for positions that are resolved when used: Start ("-1")
// and Now ("now").
type Offset string

const (
	// Start is the position before the first event.
	Start Offset = "-1"
	// Now is the current tail: a read from Now returns nothing, a
	// subscription from Now sees only events appended after it began.
	Now Offset = "now"
)

// The format is "SSSSSSSSSSSSSSSSSSSS_IIIIII": the JetStream sequence of a
// commit (one message holding all the events of one Append), and how many of
// that commit's events lie before the position. An event that is the i-th
// (0-based) of commit s carries the offset (s, i+1).
const (
	seqDigits    = 20
	idxDigits    = 6
	offsetLen    = seqDigits + 1 + idxDigits
	maxOffsetIdx = 999999

	// MaxEventsPerAppend is the most events one Append may hold: an offset
	// addresses an event inside its commit with six digits.
	MaxEventsPerAppend = maxOffsetIdx
)

// position is a parsed offset: after idx events of the commit at seq.
// (0, 0) is the start of the log.
type position struct {
	seq uint64
	idx uint32
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

func putDigits(b []byte, v uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

// ParseOffset checks that s is Start, Now or an offset the store formats,
// and returns it as an Offset. Anything else is an error wrapping
// ErrInvalidOffset.
func ParseOffset(s string) (Offset, error) {
	o := Offset(s)
	if o == Start || o == Now {
		return o, nil
	}
	if _, err := o.position(); err != nil {
		return "", err
	}
	return o, nil
}

// position parses a concrete offset (Start parses as the start of the log;
// Now is not a concrete offset and is an error here).
func (o Offset) position() (position, error) {
	if o == Start {
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
	if seq == 0 && idx != 0 {
		return position{}, fmt.Errorf("%w: %q", ErrInvalidOffset, s)
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
