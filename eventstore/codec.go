package eventstore

import (
	"encoding/binary"
	"fmt"
	"math"
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
//	'R' format (2; 1 for commits written before store times were recorded)
//	storedAt               format 2 only: 8 bytes, big-endian, Unix ns (the store's clock)
//	firstVersion
//	flags                  bit 0: written by an idempotent producer; bit 1: carries a command id;
//	                       bit 2: closes the stream; bit 3: deletes the stream (a tombstone);
//	                       bit 4: carries the command's data (only with bit 1)
//	[producer id (len+bytes), epoch, first seq, last seq]   if bit 0
//	[command id (len+bytes)]                                 if bit 1
//	[command data (len+bytes)]                               if bit 4
//	event count
//	per event: id (16 bytes), type (len+bytes), time (signed varint, Unix ns),
//	           metadata count, (key, value)* (len+bytes each), data (len+bytes)
//
// The body carries no stream name (the subject does) and no offsets
// (JetStream assigns the sequence). It carries its store time, so that
// nothing about a commit has to be fetched from the log once the commit is
// in the read index; a format-1 commit takes JetStream's timestamp instead.
//
// Anything can be published on a stream's subject by a NATS client with
// access to the log, so decodeCommit checks a body whole before anything
// of it is used: a commit that decodes is one whose every event decodes,
// with no byte left over. A message that does not is skipped by every
// reader (see ErrCorrupt) and never enters the index.
const (
	commitMagic    = 'R'
	commitFormatV1 = 1
	commitFormatV2 = 2
	flagProducer   = 1
	flagCommand    = 2
	flagClosed     = 4
	flagDeleted    = 8
	flagCmdData    = 16
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

// commit is a decoded commit header; events holds the events, checked but
// not decoded.
type commit struct {
	firstVersion uint64
	count        int
	stored       int64 // Unix ns; 0 in a format-1 commit: use the log's timestamp
	producer     *producerMark
	command      string // the command id the commit records (see WithCommandID), "" if none
	commandData  []byte // the data recorded with the command id (WithCommandData), nil if none
	closes       bool   // the commit closes the stream (WithClose); it may hold no events
	deletes      bool   // a tombstone (DeleteStream): no events, the stream starts again after it
	events       []byte
}

func (c *commit) lastVersion() uint64 { return c.firstVersion + uint64(c.count) - 1 }

// encodeCommit encodes events (already validated, IDs and times filled),
// stored at the store time storedAt (Unix ns; setStoredAt may change it
// until the commit is sent).
func encodeCommit(firstVersion uint64, storedAt int64, pm *producerMark, events []Event) []byte {
	return encodeCommitWith(firstVersion, storedAt, pm, "", events)
}

// encodeCommitWith is encodeCommit for a commit that also records the
// command id command (none if "").
func encodeCommitWith(firstVersion uint64, storedAt int64, pm *producerMark, command string, events []Event) []byte {
	return encodeCommitFlags(firstVersion, storedAt, pm, command, 0, events)
}

// encodeCommitFlags is encodeCommitWith with the lifecycle flags extra
// (flagClosed, flagDeleted) set.
func encodeCommitFlags(firstVersion uint64, storedAt int64, pm *producerMark, command string, extra byte, events []Event) []byte {
	return encodeCommitData(firstVersion, storedAt, pm, command, nil, extra, events)
}

// encodeCommitData is encodeCommitFlags with the command's data cmdData
// (none if nil; only with a command id).
func encodeCommitData(firstVersion uint64, storedAt int64, pm *producerMark, command string, cmdData []byte, extra byte, events []Event) []byte {
	size := 16 + 2*binary.MaxVarintLen64 + len(command) + len(cmdData)
	for i := range events {
		e := &events[i]
		size += 16 + 2*binary.MaxVarintLen64 + len(e.Type) + len(e.Data) + 10
		for k, v := range e.Metadata {
			size += len(k) + len(v) + 4
		}
	}
	b := make([]byte, 0, size)
	b = append(b, commitMagic, commitFormatV2)
	b = binary.BigEndian.AppendUint64(b, uint64(storedAt))
	b = binary.AppendUvarint(b, firstVersion)
	flags := extra
	if pm != nil {
		flags |= flagProducer
	}
	if command != "" {
		flags |= flagCommand
		if cmdData != nil {
			flags |= flagCmdData
		}
	}
	b = append(b, flags)
	if pm != nil {
		b = appendString(b, pm.id)
		b = binary.AppendUvarint(b, pm.epoch)
		b = binary.AppendUvarint(b, pm.firstSeq)
		b = binary.AppendUvarint(b, pm.lastSeq)
	}
	if command != "" {
		b = appendString(b, command)
		if cmdData != nil {
			b = appendString(b, string(cmdData))
		}
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

// setStoredAt sets the store time of an encoded format-2 commit.
func setStoredAt(body []byte, storedAt int64) {
	binary.BigEndian.PutUint64(body[2:10], uint64(storedAt))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads varints and length-prefixed fields, remembering the first
// error so call sites stay flat. After an error every read returns a zero
// value of the right size, so no caller can index past what it got.
//
// It moves an offset through b rather than re-slicing b: its methods are
// not inlined, so a slice stored through the decoder's pointer is a heap
// write as far as the compiler knows, and takes the GC's write barrier
// while a collection marks (thousands per read of a stream, which made the
// reads overlapping a GC several times slower). An int takes none.
type decoder struct {
	b   []byte
	off int
	err error
}

// rest returns what is left to decode.
func (d *decoder) rest() []byte { return d.b[d.off:] }

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or malformed %s", ErrCorrupt, what)
	}
	d.off = len(d.b)
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("number")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("number")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)-d.off) {
		d.fail("field")
		return nil
	}
	end := d.off + int(n)
	v := d.b[d.off:end:end]
	d.off = end
	return v
}

// id reads a 16-byte event id.
func (d *decoder) id() (id uuid.UUID) {
	if len(d.b)-d.off < len(id) {
		d.fail("event id")
		return id
	}
	copy(id[:], d.b[d.off:])
	d.off += len(id)
	return id
}

func (d *decoder) byte1() byte {
	if len(d.b)-d.off < 1 {
		d.fail("flags")
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

// decodeCommit decodes a commit header and checks that the body holds
// exactly the events it announces; the events stay encoded. Any other body
// is an error wrapping ErrCorrupt.
func decodeCommit(body []byte) (commit, error) {
	c, err := decodeCommitHeader(body)
	if err != nil {
		return commit{}, err
	}
	if err := c.check(); err != nil {
		return commit{}, err
	}
	return c, nil
}

// decodeCommitHeader decodes a commit header without checking its events:
// for bodies that were checked when they entered the read index, whose
// blocks pebble checksums.
func decodeCommitHeader(body []byte) (commit, error) {
	var c commit
	if err := c.decodeHeader(body); err != nil {
		return commit{}, err
	}
	return c, nil
}

// decodeHeader is decodeCommitHeader into c, which a read of many commits
// reuses: a commit is about a hundred bytes, and returning it by value
// copied it twice per commit on the way to the read's loop (a tenth of a
// warm read's CPU, most of it stalled on those copies). On an error c
// holds part of the header and must not be used.
func (c *commit) decodeHeader(body []byte) error {
	*c = commit{}
	if len(body) < 2 || body[0] != commitMagic {
		return fmt.Errorf("%w: not a Rewind commit", ErrCorrupt)
	}
	format := body[1]
	if format != commitFormatV1 && format != commitFormatV2 {
		return fmt.Errorf("%w: unknown commit format %d", ErrCorrupt, format)
	}
	d := decoder{b: body[2:]}
	if format == commitFormatV2 {
		if len(d.b) < 8 {
			return fmt.Errorf("%w: no store time", ErrCorrupt)
		}
		c.stored = int64(binary.BigEndian.Uint64(d.b))
		d.off = 8
	}
	c.firstVersion = d.uvarint()
	flags := d.byte1()
	if flags&flagProducer != 0 {
		c.producer = &producerMark{id: string(d.bytes())}
		c.producer.epoch = d.uvarint()
		c.producer.firstSeq = d.uvarint()
		c.producer.lastSeq = d.uvarint()
	}
	if flags&flagCommand != 0 {
		if c.command = string(d.bytes()); c.command == "" && d.err == nil {
			return fmt.Errorf("%w: empty command id", ErrCorrupt)
		}
	}
	if flags&flagCmdData != 0 {
		if flags&flagCommand == 0 && d.err == nil {
			return fmt.Errorf("%w: command data without a command id", ErrCorrupt)
		}
		c.commandData = append([]byte{}, d.bytes()...)
	}
	c.closes, c.deletes = flags&flagClosed != 0, flags&flagDeleted != 0
	if flags&^(flagProducer|flagCommand|flagClosed|flagDeleted|flagCmdData) != 0 && d.err == nil {
		return fmt.Errorf("%w: unknown flags %#x", ErrCorrupt, flags)
	}
	n := d.uvarint()
	if d.err != nil {
		return d.err
	}
	if n > MaxEventsPerAppend || c.firstVersion == 0 || c.firstVersion > math.MaxUint64-n ||
		n == 0 && !c.closes && !c.deletes && c.command == "" { // only a close, a tombstone or a command's record may hold no events
		return fmt.Errorf("%w: %d events from version %d", ErrCorrupt, n, c.firstVersion)
	}
	// A tombstone is nothing but itself: no events, no producer, no
	// command id, no close; the stream it starts again is at version 0.
	if c.deletes && (n != 0 || c.producer != nil || c.command != "" || c.closes || c.firstVersion != 1) {
		return fmt.Errorf("%w: a tombstone with more in it", ErrCorrupt)
	}
	if format == commitFormatV2 && c.stored <= 0 {
		return fmt.Errorf("%w: store time %d", ErrCorrupt, c.stored)
	}
	c.count = int(n)
	c.events = d.rest()
	return nil
}

// check walks the commit's events without keeping them: every event must
// decode and the last must end the body.
func (c *commit) check() error {
	d := decoder{b: c.events}
	for i := 0; i < c.count && d.err == nil; i++ {
		d.id()
		d.bytes() // type
		d.varint()
		nm := d.uvarint()
		if nm > uint64(len(d.b)-d.off) {
			d.fail("metadata")
			break
		}
		for j := uint64(0); j < nm && d.err == nil; j++ {
			d.bytes()
			d.bytes()
		}
		d.bytes() // data
	}
	if d.err != nil {
		return fmt.Errorf("%w (%d events announced)", d.err, c.count)
	}
	if rest := len(d.b) - d.off; rest != 0 {
		return fmt.Errorf("%w: %d bytes after the last of %d events", ErrCorrupt, rest, c.count)
	}
	return nil
}

// eachEvent decodes the commit's events in order and calls fn with each,
// filled in with its stream, version, offset and store time. Event data
// aliases body, which the caller must not reuse. fn returns false to stop.
// The commit was checked by decodeCommit on these same bytes, so the error
// return is only a guard: no call yields part of a commit and then fails.
func (c *commit) eachEvent(stream string, seq uint64, stored time.Time, a *arena, fn func(Event) bool) error {
	d := decoder{b: c.events}
	for i := 0; i < c.count; i++ {
		var e Event
		e.ID = d.id()
		e.Type = a.str(d.bytes())
		e.Time = time.Unix(0, d.varint())
		if nm := d.uvarint(); nm > 0 && d.err == nil {
			if nm > uint64(len(d.b)-d.off) {
				d.fail("metadata")
				break
			}
			e.Metadata = make(map[string]string, nm)
			for j := uint64(0); j < nm && d.err == nil; j++ {
				k := string(d.bytes())
				e.Metadata[k] = string(d.bytes())
			}
		}
		e.Data = d.bytes()
		if a != nil && a.copyData && d.err == nil {
			e.Data = a.clone(e.Data)
		}
		if d.err != nil {
			return d.err
		}
		e.Stream = stream
		e.Version = c.firstVersion + uint64(i)
		e.Offset = a.offset(eventPosition(seq, i, c.count))
		e.StoredAt = stored
		e.CommandID = c.command
		if !fn(e) {
			return nil
		}
	}
	return d.err
}

// storedAt returns the commit's store time: the one it records, or for a
// format-1 commit the log's timestamp logTime.
func (c *commit) storedAt(logTime time.Time) time.Time {
	if c.stored != 0 {
		return time.Unix(0, c.stored)
	}
	return logTime
}

// arena serves one read's events from a few large allocations instead of
// several per event: the copies of index values, the offset strings, and
// one string per distinct event type. Bytes handed out are never written
// again, so events stay valid after the read; an event kept alone keeps its
// chunk (at most arenaChunk bytes) alive. A nil arena allocates per call.
type arena struct {
	types map[string]string
	last  string // the type str returned last: most reads meet one type in a row
	// buf is the current chunk and buf[:used] is handed out. The offset
	// moves, not the slice: storing a slice in the arena takes the GC's
	// write barrier while a collection marks, twice per event.
	buf  []byte
	used int
	// copyData: the body eachEvent decodes is a buffer the caller reuses
	// (a pebble iterator's value), so each event's data is copied into the
	// arena; the rest of the event is copied or decoded anyway. Copying the
	// data alone, rather than the whole body, allocates about a fifth less
	// per event, and so triggers fewer garbage collections per read.
	copyData bool
}

// arenaChunk is 6,912 bytes, one of Go's small size classes. A chunk must
// be a small object: a large one (above 32 KiB less the 8-byte malloc
// header Go reserves for every small size; a request of exactly 32 KiB is
// one) is its own span, taken from the heap, zeroed, given back at the
// next sweep and returned to the OS by the background scavenger, so that
// the next read faults its pages in again: with 32 KiB chunks that was
// about 10 % of a warm read's CPU (madvise, page faults, zeroing) on issue
// 24's data set. It is not larger than it needs to be, because a read's
// last chunk is left partly empty, half a chunk on average: with 32 KiB
// chunks a read of 1,000 events of 200 B allocated 254 KB for the 227 KB
// its events keep, and garbage is what paces the collector. And its size
// class packs several chunks into one span: 8 KiB, the class before,
// holds one object per span, so that every chunk took a span of its own
// from the heap through the allocator's slow path (mcache refill, about
// 7 % of a warm read's CPU); 6,912 bytes is seven to a 48 KiB span, and
// wastes about 3.5 KiB a read.
const (
	arenaChunk  = 6912 // see sizeclasses.go in Go's runtime: class 50, 7 objects a span
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
	if len(a.buf)-a.used < n {
		size := min(max(2*len(a.buf), arenaFirstChunk), arenaChunk)
		for size < n {
			size *= 2
		}
		a.buf, a.used = make([]byte, size), 0
	}
	start := a.used
	a.used += n
	return a.buf[start:a.used:a.used]
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
	if a.last == string(b) {
		return a.last
	}
	if s, ok := a.types[string(b)]; ok {
		a.last = s
		return s
	}
	s := string(b)
	if a.types == nil {
		a.types = make(map[string]string, 4)
	}
	if len(a.types) < maxInterned {
		a.types[s] = s
	}
	a.last = s
	return s
}
