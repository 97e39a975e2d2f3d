package eventstore

import (
	"encoding/binary"
	"fmt"
	"time"
	"unsafe"

	"github.com/google/uuid"
)

// A commit is the unit of atomicity: every event of one Append is encoded
// into the body of one JetStream message, because one message is stored all
// or nothing and costs one publish, where an atomic batch of messages costs
// staged fsyncs on a single-replica file stream.
//
// Body layout (integers are unsigned varints unless noted):
//
//	'R' formatV1
//	firstVersion
//	flags                  bit 0: written by an idempotent producer
//	[producer id (len+bytes), epoch, first seq, last seq]   if bit 0
//	event count
//	per event: id (16 bytes), type (len+bytes), time (signed varint, Unix ns),
//	           metadata count, (key, value)* (len+bytes each), data (len+bytes)
//
// The body carries no stream name (the subject does), no offsets and no
// store time (JetStream assigns sequence and timestamp).
const (
	commitMagic    = 'R'
	commitFormatV1 = 1
	flagProducer   = 1
)

// producerMark is the producer state a commit carries: the producer wrote
// sequence numbers firstSeq..lastSeq at epoch. The state of a producer is
// always the mark of its newest commit in the stream, so it is committed
// atomically with the data it admits and lives as long as the stream.
type producerMark struct {
	id       string
	epoch    uint64
	firstSeq uint64
	lastSeq  uint64
}

// commit is a decoded commit header; events holds the undecoded events.
type commit struct {
	firstVersion uint64
	count        int
	producer     *producerMark
	events       []byte
}

func (c *commit) lastVersion() uint64 { return c.firstVersion + uint64(c.count) - 1 }

// encodeCommit encodes events (already validated, IDs and times filled).
func encodeCommit(firstVersion uint64, pm *producerMark, events []Event) []byte {
	size := 16
	for i := range events {
		e := &events[i]
		size += 16 + 2*binary.MaxVarintLen64 + len(e.Type) + len(e.Data) + 10
		for k, v := range e.Metadata {
			size += len(k) + len(v) + 4
		}
	}
	b := make([]byte, 0, size)
	b = append(b, commitMagic, commitFormatV1)
	b = binary.AppendUvarint(b, firstVersion)
	if pm != nil {
		b = append(b, flagProducer)
		b = appendString(b, pm.id)
		b = binary.AppendUvarint(b, pm.epoch)
		b = binary.AppendUvarint(b, pm.firstSeq)
		b = binary.AppendUvarint(b, pm.lastSeq)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(events)))
	for i := range events {
		e := &events[i]
		b = append(b, e.ID[:]...)
		b = appendString(b, e.Type)
		b = binary.AppendVarint(b, e.Time.UnixNano())
		b = binary.AppendUvarint(b, uint64(len(e.Metadata)))
		for k, v := range e.Metadata {
			b = appendString(b, k)
			b = appendString(b, v)
		}
		b = binary.AppendUvarint(b, uint64(len(e.Data)))
		b = append(b, e.Data...)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads varints and length-prefixed fields, remembering the first
// error so call sites stay flat.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or malformed body", ErrCorrupt)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) fixed(n int) []byte {
	if n > len(d.b) {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// decodeCommit decodes a commit header; the events stay encoded.
func decodeCommit(body []byte) (commit, error) {
	if len(body) < 2 || body[0] != commitMagic {
		return commit{}, fmt.Errorf("%w: not a Rewind commit", ErrCorrupt)
	}
	if body[1] != commitFormatV1 {
		return commit{}, fmt.Errorf("%w: unknown commit format %d", ErrCorrupt, body[1])
	}
	d := decoder{b: body[2:]}
	var c commit
	c.firstVersion = d.uvarint()
	flags := d.fixed(1)
	if len(flags) == 1 && flags[0]&flagProducer != 0 {
		c.producer = &producerMark{id: string(d.bytes())}
		c.producer.epoch = d.uvarint()
		c.producer.firstSeq = d.uvarint()
		c.producer.lastSeq = d.uvarint()
	}
	n := d.uvarint()
	if d.err != nil {
		return commit{}, d.err
	}
	if n == 0 || n > MaxEventsPerAppend || c.firstVersion == 0 {
		return commit{}, fmt.Errorf("%w: %d events from version %d", ErrCorrupt, n, c.firstVersion)
	}
	c.count = int(n)
	c.events = d.b
	return c, nil
}

// eachEvent decodes the commit's events in order and calls fn with each,
// filled in with its stream, version, offset and store time. Event data
// aliases body, which the caller must not reuse. fn returns false to stop.
func (c *commit) eachEvent(stream string, seq uint64, stored time.Time, a *arena, fn func(Event) bool) error {
	d := decoder{b: c.events}
	for i := 0; i < c.count; i++ {
		var e Event
		e.ID = uuid.UUID(d.fixed(16))
		e.Type = a.str(d.bytes())
		e.Time = time.Unix(0, d.varint())
		if nm := d.uvarint(); nm > 0 && d.err == nil {
			if nm > uint64(len(d.b)) {
				d.fail()
				break
			}
			e.Metadata = make(map[string]string, nm)
			for j := uint64(0); j < nm && d.err == nil; j++ {
				k := string(d.bytes())
				e.Metadata[k] = string(d.bytes())
			}
		}
		e.Data = d.bytes()
		if d.err != nil {
			return d.err
		}
		e.Stream = stream
		e.Version = c.firstVersion + uint64(i)
		e.Offset = a.offset(position{seq: seq, idx: uint32(i + 1)})
		e.StoredAt = stored
		if !fn(e) {
			return nil
		}
	}
	return d.err
}

// arena serves one read's events from a few large allocations instead of
// several per event: the copies of index values, the offset strings, and
// one string per distinct event type. Bytes handed out are never written
// again, so events stay valid after the read; an event kept alone keeps its
// chunk (at most arenaChunk bytes) alive. A nil arena allocates per call.
type arena struct {
	types map[string]string
	buf   []byte // the current chunk; buf[:len(buf)] is handed out
}

const (
	arenaChunk  = 64 << 10
	maxInterned = 4096 // distinct type names an arena keeps
)

func newArena() *arena { return &arena{} }

// The first chunk is small, so that a short read allocates little; each
// next one doubles, up to arenaChunk.
const arenaFirstChunk = 2 << 10

func (a *arena) alloc(n int) []byte {
	if a == nil || n > arenaChunk/4 {
		return make([]byte, n)
	}
	if cap(a.buf)-len(a.buf) < n {
		size := min(max(2*cap(a.buf), arenaFirstChunk), arenaChunk)
		for size < n {
			size *= 2
		}
		a.buf = make([]byte, 0, size)
	}
	start := len(a.buf)
	a.buf = a.buf[:start+n]
	return a.buf[start : start+n : start+n]
}

// clone returns a copy of v that outlives the buffer v is in.
func (a *arena) clone(v []byte) []byte {
	b := a.alloc(len(v))
	copy(b, v)
	return b
}

// offset formats p. The string shares the arena's memory, which is safe
// because those bytes are never written again.
func (a *arena) offset(p position) Offset {
	if a == nil {
		return p.offset()
	}
	b := a.alloc(offsetLen)
	p.put(b)
	return Offset(unsafe.String(&b[0], offsetLen))
}

// str returns b as a string, one string per distinct value.
func (a *arena) str(b []byte) string {
	if a == nil {
		return string(b)
	}
	if s, ok := a.types[string(b)]; ok {
		return s
	}
	s := string(b)
	if a.types == nil {
		a.types = make(map[string]string, 4)
	}
	if len(a.types) < maxInterned {
		a.types[s] = s
	}
	return s
}
