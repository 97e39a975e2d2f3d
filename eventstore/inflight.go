package eventstore

import (
	"encoding/binary"
	"sync"
)

// The commits this process's appends have sent and not yet reported.
//
// While a tailer follows the log (Connect, WithListen), it reads this
// process's own commits too, and its copy of a commit often reaches the
// index writer before the append's own record of it: the consumer's
// delivery and the append's acknowledgement race. Such a copy used to be
// decoded and checked against the index like any other process's commit
// (is it held already, does it follow its stream's previous version): two
// index look-ups in a memtable that grows under load, the largest part of
// the writer's work under this process's appends. A copy whose bytes are
// those of an append in flight on its stream (but for the store time,
// which each try stamps anew) is that append's commit: the server stored
// it at the sequence it names because it expected the very subject
// sequence the append's record would be trusted for. So the tailer gives
// it the append's fields and the writer enters it as it would the
// append's record, unchecked; the append's record, when it comes, is
// skipped as the tailer's (the writer's usual rule for a commit the tailer
// entered first).
//
// One entry per stream at most: an append holds its stream's lock from
// its head to its record, so a stream has one append in flight in this
// process. The entry goes after the append's record was submitted, so a
// copy that finds none is one whose record the writer already has (twins,
// own) or another process's commit.

// inflightCommit is an append in flight: its body, and what the writer
// would otherwise decode from it (the fields of the append's indexRec).
type inflightCommit struct {
	body     []byte // only bytes outside the store time are read (sameCommit)
	last     uint64
	producer *producerMark
	command  string
	cmdData  []byte
	count    uint32
	flags    byte
}

// inflightSet holds the appends in flight by stream.
type inflightSet struct {
	mu sync.Mutex
	m  map[string]inflightCommit
}

// add records the append in flight on stream name.
func (f *inflightSet) add(name string, c inflightCommit) {
	f.mu.Lock()
	if f.m == nil {
		f.m = make(map[string]inflightCommit)
	}
	f.m[name] = c
	f.mu.Unlock()
}

// remove forgets the append in flight on stream name.
func (f *inflightSet) remove(name string) {
	f.mu.Lock()
	delete(f.m, name)
	f.mu.Unlock()
}

// fill gives r, the tailer's record of a log message, the fields of the
// append in flight on its stream if r is that append's commit, and reports
// whether it did. The store time is the one r's body carries: the try
// that was stored stamped it.
func (f *inflightSet) fill(r *indexRec) bool {
	f.mu.Lock()
	c, ok := f.m[r.name]
	f.mu.Unlock()
	if !ok || !sameCommit(r.body, c.body) || r.body[1] != commitFormatV2 {
		return false
	}
	r.last, r.producer, r.command, r.cmdData, r.count, r.flags = c.last, c.producer, c.command, c.cmdData, c.count, c.flags
	r.stored = int64(binary.BigEndian.Uint64(r.body[2:10]))
	r.known = true
	return true
}
