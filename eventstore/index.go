package eventstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// The read index is a derived copy of the log, kept so that reading one
// stream costs what the stream holds and not what the log holds. Inside
// JetStream's file store a subject-filtered read loads every block the
// stream's events touch (800–900 ms for a 1,000-event stream spread through
// a 1M-event log); here each stream's commits lie together, ordered by
// version, in a pebble LSM beside the log.
//
// Pebble, because it opens in milliseconds whatever its size, writes in
// about a microsecond, keeps its size near the log's, and bounds its memory
// with a block cache of a set size; bbolt reads a little faster once open
// but walks its whole file on each read-write open and writes an order of
// magnitude slower (as measured when the index was chosen; the figures are
// in the team's JetStream notes, outside this repository).
//
// The JetStream log stays the only truth:
//   - one goroutine writes the index (writer.go), fed by this process's
//     acknowledged appends and by the tailer, which reads the log in order;
//     the checkpoint, how far the index holds every commit, is stored
//     with the writer's batches;
//   - the index has no write-ahead log and is never fsynced: after a crash
//     the tailer reapplies the log from the checkpoint, and an index that
//     is missing, unreadable, of another format, of another log or ahead of
//     the log is deleted and rebuilt;
//   - "ahead of the log" is checked two ways on open: the checkpoint must
//     not be past the log's last sequence, and the newest commit the index
//     holds must still be in the log, the same commit at the same sequence
//     (a log that lost its unsynced tail to a power cut and was then
//     written past the index's checkpoint by other clients passes the first
//     check, not the second);
//   - only whole, valid commits that follow their stream's previous commit
//     enter it; any other message on a stream's subject is recorded only as
//     the subject's last message, which the next append must expect;
//   - a read of one stream waits until the index holds every commit
//     acknowledged before the read began, and uses nothing above the
//     position up to which it holds every commit; a log-ordered read
//     (ReadAll, ReadCategory) does not wait: it uses the index up to that
//     position and reads the rest from the log;
//   - the log-ordered copy is written in the same batch as the commit's
//     other keys, so the checks above cover it as they cover them.
//
// Keys:
//
//	'c' name 0x00 lastVersion(8, big-endian)  → seq(8) storedAt(8) commit body
//	'p' name 0x00 producer id                 → epoch, last seq, commit seq (uvarints)
//	'x' name 0x00                             → seq(8) of the newest foreign message on the subject (or tombstone, or command's record)
//	'k' name 0x00 command id                  → seq(8) lastVersion(8) count(4) storedAt(8) of its commit [1 data: WithCommandData's]
//	'z' name 0x00                             → seq(8) of the commit that closed the stream
//	'o' seq(8, big-endian)                    → storedAt(8) name (len+bytes) commit body: the log-ordered copy (index_ordered.go)
//	'e' event id(16)                          → uvarint(seq) uvarint(i): the commit's i-th event (index_eventid.go)
//	'E' time field(8) seq(8)                  → uvarint(i) uvarint(n): a run of the commit's events with consecutive IDs (index_eventid.go)
//	'u' seq(8) name                           → (empty): a delete whose purge, of the stream's messages before its tombstone at seq, is yet to be made (tailer.go's completePurges)
//	"m.format" → indexFormat; "m.log" → the log's identity; "m.checkpoint" → seq(8)
//	"m.newest" → seq(8) first event id(16) stream name: the newest commit held
//
// A commit without events (a close, a tombstone, a command's record) has no
// 'c' key and no 'o' copy; a command's record is recorded as the subject's
// newest foreign message, which the next append expects. A tombstone deletes the stream's keys (and copies) of commits before
// it and is recorded
// as the subject's newest foreign message, which the next append expects.
//
// Stream names contain no control characters, so 0x00 ends a name and one
// stream's keys never interleave with another's.

// indexFormat names the layout above and how its tables are compressed
// (index_compression.go). Format 1 kept store times pending for commits
// that did not record them; format 2 had no log-ordered copy; format 3
// compressed every level with snappy (pebble reads it, but its settled
// tables would be rewritten with zstd only as compactions reach them,
// which for streams no longer written is never); format 4 had no event-id
// keys (an index of it is rebuilt, so that EventByID finds every event,
// not only those appended after an upgrade); format 5 had an 'e' key for
// every event and no 'E' runs (it would be read right, but a process of
// an older version would not find the events of the runs in an index of
// this one). An index of another format is rebuilt.
const indexFormat = "rewind-index-6"

var (
	keyFormat     = []byte("m.format")
	keyLog        = []byte("m.log")
	keyCheckpoint = []byte("m.checkpoint")
	keyNewest     = []byte("m.newest")
)

// index is one open pebble database, the goroutine that writes it, and how
// far it has got through the log. It is replaced as a whole by Reindex.
//
// Two sources feed it, both through the one writer goroutine (writer.go):
// this process's appends, right after their acknowledgement and before
// Append returns, and the tailer, which reads the log in order. Appends give
// read-your-writes at no cost to the appender; the tailer adds what other
// processes wrote and fills any commit an append could not report (a crash
// between acknowledgement and index, a publish whose answer was lost).
// Every commit records its store time, so nothing in the index ever has to
// be fetched from the log.
type index struct {
	db    *pebble.DB
	cache *pebble.Cache
	dir   string
	gen   int
	w     *indexWriter

	mu      sync.Mutex
	written uint64        // every commit up to here is in the index
	tailed  uint64        // the tailer has applied the log up to here
	notify  chan struct{} // closed and replaced whenever written advances
	kick    chan struct{} // asks the tailer to run now
	err     error         // a write failed: the index cannot be trusted
	refs    int           // readers holding the index (guarded by Store.idxMu)

	tailSubmitted atomic.Uint64 // the tailer has handed the writer the log up to here

	filter *commandFilter // the command ids the index holds (cmdfilter.go)
	tops   commitTops     // deleted streams' highest commit held (index_tops.go)
	// compactions lets pebble compact once the store is open
	// (index_compactions.go).
	compactions *compactionGate
	health      *indexHealth  // what its background writes reported (index_health.go)
	fresh       bool          // opened empty, not yet given its log (checkLog)
	filterStop  chan struct{} // ends the filter's loading
	filterDone  chan struct{} // closed when it has ended
	closed      bool
	retired     bool // replaced by Reindex: waiters move to the new index
}

var errRetired = errors.New("eventstore: read index replaced")

// kickTailer asks the tailer to apply the log now rather than at its next
// turn.
func (x *index) kickTailer() {
	select {
	case x.kick <- struct{}{}:
	default:
	}
}

// fail records a write failure: reads waiting on the index get it.
func (x *index) fail(err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.err == nil {
		x.err = err
		close(x.notify)
		x.notify = make(chan struct{})
	}
}

// retire wakes everyone waiting on x so they move to the new index.
func (x *index) retire() {
	x.mu.Lock()
	x.retired = true
	close(x.notify)
	x.notify = make(chan struct{})
	x.mu.Unlock()
}

func (x *index) get(key []byte) ([]byte, error) {
	v, closer, err := x.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// shut makes waiters and new readers fail with ErrClosed; it reports
// whether it was the first call.
func (x *index) shut() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return false
	}
	x.closed = true
	close(x.notify)
	x.notify = make(chan struct{})
	return true
}

// close shuts the index, lets its writer finish and closes its database.
// Nobody may hold it.
func (x *index) close() error {
	x.shut()
	if x.w != nil {
		x.w.close()
		close(x.filterStop)
		<-x.filterDone
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.db == nil {
		return nil
	}
	err := errors.Join(x.flushAtClose(), x.db.Close())
	x.cache.Unref()
	x.db = nil
	if err != nil {
		return fmt.Errorf("read index %s: %w", x.dir, err)
	}
	return nil
}

// flushAtClose writes the memtables to tables, unless a background write
// fails meanwhile (or failed before and still does): pebble would try the
// flush again for ever. The index is derived: what is not flushed, the
// next open applies again from the log.
func (x *index) flushAtClose() error {
	defer x.health.halt() // a flusher's pause ends: db.Close waits for it
	before := x.health.failures()
	done, err := x.db.AsyncFlush()
	if err != nil {
		return err
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-t.C:
			if x.health.failures() > before {
				return fmt.Errorf("not flushed at close (the next open applies the log again from what the index's tables hold): %s", x.health.lastFailure())
			}
		}
	}
}

// position returns the log sequence up to which the index holds every
// commit.
func (x *index) position() uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.written
}

// noteSubmitted records that the tailer handed the writer the log up to
// seq: its next pass starts after it, not again from what the writer has
// yet to apply.
func (x *index) noteSubmitted(seq uint64) { raise(&x.tailSubmitted, seq) }

// nextToTail is the log sequence the tailer reads next: after what the
// index holds, or after what the tailer has handed the writer already and
// the writer has yet to apply.
func (x *index) nextToTail() uint64 {
	return max(x.position(), x.tailPosition(), x.tailSubmitted.Load()) + 1
}

// tailPosition returns how far the tailer has applied the log.
func (x *index) tailPosition() uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.tailed
}

// applied publishes what one batch of the writer made visible: how far the
// index holds every commit, and how far the tailer has applied the log.
func (x *index) applied(written, tailed uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.tailed = max(x.tailed, tailed)
	if written > x.written {
		x.written = written
		close(x.notify)
		x.notify = make(chan struct{})
	}
}

// progress returns how far the index holds every commit, and a channel
// closed when that moves on.
func (x *index) progress() (uint64, <-chan struct{}) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.written, x.notify
}

// waitKick is how long a reader waits for the writer before it asks the
// tailer to run at once (for a commit whose append did not report it).
const waitKick = 2 * time.Millisecond

// indexStallTimeout bounds a wait for the read index: a wait ends with
// ErrIndexStalled when the index has not moved for this long (the log
// unreachable, the tailer unable to read it). A wait that sees progress
// goes on, however long a catch-up or rebuild takes. It is longer than a
// cluster's recovery, which the tailer waits out: an election (seconds),
// then a new consumer for the tailer (consume), each request tried for up
// to unavailableWait.
const indexStallTimeout = 2 * unavailableWait

// waitFor blocks until the index holds every commit up to seq, ctx ends, or
// the index stalls (indexStallTimeout).
//
// A ctx that ends while it waits fails it with ErrUnavailable too (see
// outlasted): the index waits for the log, as far as the caller can tell
// the cluster; one done before the wait began is returned alone.
func (x *index) waitFor(ctx context.Context, seq uint64) error {
	began := ctx.Err() == nil
	kicked := false
	var kick <-chan time.Time
	var stall *time.Timer
	var last uint64
	defer func() {
		if stall != nil {
			stall.Stop()
		}
	}()
	for {
		x.mu.Lock()
		pos, ch, closed, retired, werr := x.written, x.notify, x.closed, x.retired, x.err
		x.mu.Unlock()
		if closed {
			return ErrClosed
		}
		if werr != nil {
			return fmt.Errorf("read index: %w", werr)
		}
		if pos >= seq {
			return nil
		}
		if retired {
			return errRetired
		}
		if stall == nil {
			stall, last = time.NewTimer(indexStallTimeout), pos
		} else if pos != last {
			stall.Reset(indexStallTimeout)
			last = pos
		}
		if kick == nil && !kicked {
			x.w.flush() // what waits in the writer's group, now
			kick = time.After(waitKick)
		}
		select {
		case <-ch:
		case <-kick:
			kick, kicked = nil, true
			x.kickTailer()
		case <-stall.C:
			return fmt.Errorf("%w: at log sequence %d for %v, waiting for %d", ErrIndexStalled, pos, indexStallTimeout, seq)
		case <-ctx.Done():
			err := fmt.Errorf("waiting for the read index to reach %d (at %d): %w", seq, pos, ctx.Err())
			if !began {
				return err
			}
			return outlasted(ctx, err)
		}
	}
}
