package eventstore

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// indexRec is one commit on its way into the index.
type indexRec struct {
	name   string // "" for a log message that is no stream's commit
	seq    uint64
	stored int64 // Unix ns: the commit's store time (the log's timestamp for a format-1 commit)
	body   []byte
	kind   recKind
	// An append's record also carries what the writer would otherwise
	// decode from body: the commit's last version and producer mark.
	last     uint64 // 0: decode body
	producer *producerMark
	command  string
	cmdData  []byte // the command's data (WithCommandData)
	count    uint32
	flags    byte // an append's record: flagClosed, flagDeleted
	// twin marks an append's record and the tailer's record of the same
	// commit in one batch of the writer (markTwins).
	twin bool
	// known marks a tailer's record of a commit this process's append had
	// in flight: the fields above are the append's (inflight.go), and it
	// enters the index unchecked, as the append's record would.
	known bool
}

// recKind says where an indexRec comes from.
type recKind uint8

const (
	// recAppend: this process's acknowledged append, in no particular
	// order; a commit this store made, so it is trusted.
	recAppend recKind = iota
	// recLog: the tailer's, in log order: any message on the log, checked
	// before it enters the index.
	recLog
)

// checkpointEvery is how far the index may get ahead of its stored
// checkpoint through appends alone. Writing the checkpoint in every small
// batch of appends would double the index's writes; after a crash the
// tailer reapplies at most this many more log messages.
const checkpointEvery = 4096

// maxWriterQueue bounds how many of the tailer's records may wait for the
// writer; the tailer waits beyond it (appends never wait: they are bounded
// by the appends in flight).
const maxWriterQueue = 16384

// Appends' records are written in groups: the writer runs when
// writerDelay has passed since the first record waiting, when
// writerGroup records wait, or at once when a read waits for one (flush).
// Waking a goroutine and committing a pebble batch for every append would
// cost the appenders a good part of their throughput; a read never waits
// for the delay.
const (
	writerDelay = 5 * time.Millisecond
	writerGroup = 1024
)

// indexWriter is the one goroutine that writes an index. Records are
// applied in batches with no fsync: after a crash the tailer reapplies the
// log from the checkpoint.
type indexWriter struct {
	x    *index
	log  *slog.Logger
	mu   sync.Mutex
	cond *sync.Cond // a first record waits; the queue has room
	recs []indexRec
	due  bool          // recs are to be written now
	wake chan struct{} // ends the writer's delay
	stop bool
	done chan struct{}

	// Owned by the writer goroutine.
	written uint64   // every commit up to here is in the index
	above   []uint64 // appended commits above written, ascending
	saved   uint64   // the checkpoint last written
	newest  uint64   // log sequence of the newest commit recorded in "m.newest"
	// newestRead: newest was read from the index (on the first batch).
	newestRead bool
	// logHeads remembers the last version of streams the tailer applied,
	// the version the next commit it meets must follow, for as long as the
	// index has had no appends' records (a rebuild): the tailer then reads
	// every message in order and the cache is exact. Once appends feed the
	// index, the tailer skips what they wrote, and a stream's previous
	// version is looked up in the index. Bounded; a miss is looked up too.
	logHeads  map[string]logHead
	sawAppend bool

	// own holds the log sequences of the appends' records entered above
	// the tailer's position, while a tailer follows the log (watchOwn):
	// when the tailer meets one of them, the index holds that very
	// commit (the append's acknowledgement named its sequence), so it is
	// skipped without decoding it and asking the index whether it is held,
	// which was half of the writer's work under this process's own
	// appends. A sequence not found here is checked as before. Bounded
	// (maxOwn).
	own      map[uint64]struct{}
	watchOwn atomic.Bool
	// foreign counts the tailer's records that were neither this
	// process's own commits in flight (known) nor entered from their
	// append's record (twins, own): other processes' commits, or own ones
	// whose acknowledgement was lost. The tailer goes quiet once it stops
	// moving (tailer.go).
	foreign atomic.Uint64

	onLog func(name string) // called for each stream a batch with the tailer's records entered (WaitStream)
	// purges is signalled when a batch recorded a delete whose purge is
	// to be made (purgeKey; completePurges); nil: nobody purges here.
	purges chan struct{}

	// tombs holds the tombstones applied above the tailer's position, by
	// stream: until the tailer passes one, it may still bring commits of
	// the stream from before it, which the delete removed.
	tombs map[string]uint64
	// raised holds, by stream, the last version of the commits entered in
	// the batch not yet committed (commit).
	raised map[string]uint64
}

// setOnLog sets the function called with the streams of the tailer's
// records once they are in the index.
func (w *indexWriter) setOnLog(fn func(string)) {
	w.mu.Lock()
	w.onLog = fn
	w.mu.Unlock()
}

// setPurges sets the channel signalled (without blocking) when a batch
// recorded a delete whose purge is to be made.
func (w *indexWriter) setPurges(ch chan struct{}) {
	w.mu.Lock()
	w.purges = ch
	w.mu.Unlock()
}

// logHead is the last commit of a stream the writer entered: its last
// version and log sequence.
type logHead struct{ version, seq uint64 }

// maxLogHeads bounds indexWriter.logHeads.
const maxLogHeads = 1 << 16

// maxOwn bounds indexWriter.own.
const maxOwn = 1 << 16

// followsLog tells the writer that a tailer follows the log, so that it
// remembers which commits its appends' records entered (own).
func (w *indexWriter) followsLog() { w.watchOwn.Store(true) }

// startWriter starts the index's writer, and the loading of its command
// filter once after is closed (nil: at once): a store opened behind a
// clean-close mark loads it when its server starts, since only calls that
// need the server look command ids up, so that the loading does not
// compete with the first reads of a new process.
func startWriter(x *index, log *slog.Logger, after <-chan struct{}) {
	w := &indexWriter{x: x, log: log, done: make(chan struct{}), wake: make(chan struct{}, 1),
		written: x.written, saved: x.written, logHeads: make(map[string]logHead)}
	w.cond = sync.NewCond(&w.mu)
	x.w = w
	x.kick = make(chan struct{}, 1)
	x.filter, x.filterStop, x.filterDone = newCommandFilter(), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(x.filterDone)
		if after != nil {
			select {
			case <-after:
			case <-x.filterStop:
				return
			}
		}
		x.filter.load(x.db, x.filterStop)
	}()
	go w.run()
}

// submit queues an append's record; it never blocks.
func (w *indexWriter) submit(r indexRec) {
	w.mu.Lock()
	if !w.stop {
		w.recs = append(w.recs, r)
		switch {
		case len(w.recs) == 1:
			w.cond.Broadcast() // the writer starts its delay
		case len(w.recs) >= writerGroup:
			w.setDue()
		}
	}
	w.mu.Unlock()
}

// setDue ends the writer's delay; w.mu is held.
func (w *indexWriter) setDue() {
	if !w.due {
		w.due = true
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// flush makes the writer write what waits now.
func (w *indexWriter) flush() {
	w.mu.Lock()
	if len(w.recs) > 0 {
		w.setDue()
	}
	w.mu.Unlock()
}

// submitLog queues the tailer's records, waiting while the queue is full.
func (w *indexWriter) submitLog(ctx context.Context, rs []indexRec) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.recs) >= maxWriterQueue && !w.stop {
		if err := waitCond(ctx, w.cond); err != nil {
			return err
		}
	}
	if w.stop {
		return ErrClosed
	}
	w.recs = append(w.recs, rs...)
	w.setDue()
	w.cond.Broadcast()
	return nil
}

func (w *indexWriter) run() {
	defer close(w.done)
	var spare []indexRec
	delay := time.NewTimer(writerDelay)
	delay.Stop()
	for {
		w.mu.Lock()
		for len(w.recs) == 0 && !w.stop {
			w.cond.Wait()
		}
		if !w.due && !w.stop {
			w.mu.Unlock()
			delay.Reset(writerDelay)
			select {
			case <-delay.C:
			case <-w.wake:
			}
			delay.Stop()
			w.mu.Lock()
		}
		select {
		case <-w.wake: // a signal for the records taken now
		default:
		}
		if len(w.recs) == 0 {
			w.mu.Unlock()
			if w.written > w.saved {
				if err := w.apply(nil); err != nil {
					w.log.Warn("eventstore: read index checkpoint not saved at close", "dir", w.x.dir, "err", err)
				}
			}
			return
		}
		recs := w.recs
		w.recs, w.due = spare[:0], false
		w.cond.Broadcast() // room for the tailer
		w.mu.Unlock()
		if err := w.apply(recs); err != nil {
			w.x.fail(err)
			w.log.Error("eventstore: read index write failed", "dir", w.x.dir, "err", err)
		}
		clear(recs)
		spare = recs
	}
}

// close applies what is queued and stops the writer.
func (w *indexWriter) close() {
	w.mu.Lock()
	w.stop = true
	w.setDue()
	w.cond.Broadcast()
	w.mu.Unlock()
	<-w.done
}

// apply writes one batch of records. An append's record is skipped when
// the tailer has already applied its commit in an earlier batch; the
// tailer's record of a commit whose append's record is in the same batch,
// or was entered in an earlier one (own), is skipped unread; any other
// tailer's record enters the index only if it is a whole, valid commit
// that follows its stream's previous commit in the log (anything else is
// recorded as the subject's newest foreign message and logged); a producer
// state is written only if it is newer than the stored one, since the
// tailer may apply an old commit after an append reported a newer one. The checkpoint (how far the index
// holds every commit) goes into the batch when the tailer moved, when
// appends moved it checkpointEvery further, and at close (recs nil); the
// newest commit held goes into every batch that raised it; every commit
// entered is also copied, in the same batch, into the log-ordered copy
// (index_ordered.go).
func (w *indexWriter) apply(recs []indexRec) error {
	x := w.x
	if !w.newestRead {
		// Read on the first batch, not when the index opens: an open
		// reads no block of the index before a read asks for one.
		w.newestRead = true
		if v, err := x.get(keyNewest); err == nil {
			if n, ok := decodeNewest(v); ok {
				w.newest = n.seq
			}
		}
	}
	tailed, fromLog := x.tailPosition(), false
	for i := range recs {
		if recs[i].kind == recLog {
			tailed, fromLog = max(tailed, recs[i].seq), true
		}
	}
	// In key order, pebble's memtable inserts each key starting from where
	// the previous one went, instead of from the top of its skiplist. The
	// sort is stable: of two records of one commit the later one wins. The
	// tailer's records of one stream stay in log order, which the check of
	// each against the previous relies on.
	slices.SortStableFunc(recs, func(a, b indexRec) int {
		return cmp.Or(strings.Compare(a.name, b.name), cmp.Compare(a.seq, b.seq))
	})
	markTwins(recs)
	if len(w.logHeads) > maxLogHeads {
		clear(w.logHeads)
	}
	watchOwn := w.watchOwn.Load()
	// The last version of each stream entered by this batch so far, in
	// log order (records of a stream are sorted by sequence).
	heads := make(map[string]logHead)
	b := x.db.NewBatch()
	defer b.Close()
	var written map[string]uint64 // producer key → commit seq, in this batch
	var key []byte
	var ordered []int // the records entered, for their log-ordered copies
	dropped := false  // a tombstone was applied: a purge is to be made
	newest := newestCommit{seq: w.newest}
	var newestBody []byte // its commit, whose first event's id is read once, at the end
	for i := range recs {
		r := &recs[i]
		if r.kind == recAppend {
			if !w.sawAppend {
				w.sawAppend = true
				w.logHeads = nil
			}
			if r.seq <= tailed && !r.twin {
				continue // the tailer has written it
			}
			if r.seq > w.written {
				w.above = append(w.above, r.seq)
			}
		}
		if r.name == "" {
			continue
		}
		if t, ok := w.tombs[r.name]; ok && r.seq < t {
			// A commit from before a tombstone the index applied already
			// (an append's record of this process ran ahead of the tailer,
			// which meets the stream's older commits later): deleted.
			continue
		}
		if r.kind == recAppend && watchOwn && r.seq > tailed {
			if w.own == nil {
				w.own = make(map[uint64]struct{})
			}
			w.own[r.seq] = struct{}{}
		}
		if r.kind == recLog {
			if r.twin {
				continue // entered from its append's record, its twin
			}
			if _, ok := w.own[r.seq]; ok {
				delete(w.own, r.seq)
				continue // entered from its append's record
			}
			if !r.known {
				w.foreign.Add(1)
			}
			skip, err := w.fillLogged(b, r, heads)
			if err != nil {
				return err
			}
			if skip {
				continue
			}
		}
		// An append's record carries these; fillLogged gave them to the
		// tailer's.
		last, pm, cmd, cmdData, count, flags := r.last, r.producer, r.command, r.cmdData, r.count, r.flags
		heads[r.name] = logHead{last, r.seq}
		if r.seq > newest.seq {
			// A commit without events is the newest too: the log must
			// still hold it (a close lost to a power cut would otherwise
			// go unnoticed), and a tombstone's purge takes the stream's
			// older commits out of the log.
			newest, newestBody = newestCommit{seq: r.seq, name: r.name}, r.body
		}
		if flags&flagDeleted != 0 {
			// A tombstone: what the stream held before it goes. The keys
			// to delete are found in the index, and this batch may hold
			// some of them, so it is committed first; the deletes are
			// committed at once too, since the checks of the stream's
			// next commits in this batch ask the index for its previous
			// version.
			if err := w.dropStream(b, r.name, r.seq); err != nil {
				return err
			}
			dropped = true
			// The stream's commits of this batch before it get no copy.
			ordered = slices.DeleteFunc(ordered, func(j int) bool { return recs[j].name == r.name && recs[j].seq < r.seq })
			continue
		}
		if flags&flagClosed != 0 {
			if err := b.Set(closedKey(r.name), binary.BigEndian.AppendUint64(nil, r.seq), nil); err != nil {
				return err
			}
		}
		if count > 0 {
			if w.raised == nil {
				w.raised = make(map[string]uint64)
			}
			w.raised[r.name] = max(w.raised[r.name], last) // raised once committed (index_tops.go)
			ordered = append(ordered, i)
			// Key and value are written straight into the batch's buffer
			// (a close without events has nothing to read: only its
			// producer mark and command id are kept).
			key = appendCommitKey(key[:0], r.name, last)
			op := b.SetDeferred(len(key), 16+len(r.body))
			copy(op.Key, key)
			binary.BigEndian.PutUint64(op.Value, r.seq)
			binary.BigEndian.PutUint64(op.Value[8:], uint64(r.stored))
			copy(op.Value[16:], r.body)
			if err := op.Finish(); err != nil {
				return err
			}
		}
		if cmd != "" {
			x.filter.add(r.name, cmd) // before the commit: a "maybe" early is harmless
			// Key and value straight into the batch's buffer, as a commit's.
			co := commandOutcome{seq: r.seq, last: last, count: count, stored: r.stored, data: cmdData}
			op := b.SetDeferred(commandKeyLen(r.name, cmd), co.size())
			appendCommandKey(op.Key[:0], r.name, cmd)
			co.appendTo(op.Value[:0])
			if err := op.Finish(); err != nil {
				return err
			}
			if count == 0 && flags&flagClosed == 0 {
				// A command's record without events: the subject's newest
				// message, which the next append must expect, is not a
				// commit the head is read from.
				if err := w.recordForeign(b, r.name, r.seq); err != nil {
					return err
				}
			}
		}
		if pm != nil {
			key := producerKey(r.name, pm.id)
			if written == nil {
				written = make(map[string]uint64)
			}
			if newer, err := w.producerNewer(key, r.seq, written); err != nil {
				return err
			} else if !newer {
				continue
			}
			pv := binary.AppendUvarint(nil, pm.epoch)
			pv = binary.AppendUvarint(pv, pm.lastSeq)
			pv = binary.AppendUvarint(pv, r.seq)
			if err := b.Set(key, pv, nil); err != nil {
				return err
			}
			written[string(key)] = r.seq
		}
	}
	if err := writeOrdered(b, recs, ordered); err != nil {
		return err
	}
	if !w.sawAppend {
		for name, v := range heads {
			w.logHeads[name] = v
		}
	}
	if newest.seq > w.newest {
		newest.id = firstEventID(newestBody)
		if err := b.Set(keyNewest, newest.encode(), nil); err != nil {
			return err
		}
		w.newest = newest.seq
	}
	w.advance(tailed)
	if w.written > w.saved && (fromLog || recs == nil || w.written-w.saved >= checkpointEvery) {
		if err := b.Set(keyCheckpoint, binary.BigEndian.AppendUint64(nil, w.written), nil); err != nil {
			return err
		}
		w.saved = w.written
	}
	if !b.Empty() {
		if err := w.commit(b); err != nil {
			return err
		}
	}
	for name, t := range w.tombs {
		if t <= tailed {
			delete(w.tombs, name)
		}
	}
	w.pruneOwn(tailed)
	x.applied(w.written, tailed)
	if dropped {
		w.mu.Lock()
		ch := w.purges
		w.mu.Unlock()
		if ch != nil {
			select {
			case ch <- struct{}{}:
			default: // signalled already
			}
		}
	}
	if fromLog {
		w.mu.Lock()
		onLog := w.onLog
		w.mu.Unlock()
		if onLog != nil {
			for name := range heads {
				onLog(name)
			}
		}
	}
	return nil
}

// fillLogged gives the tailer's record r what the writer enters (its last
// version, producer mark, command, count, flags and store time) and
// reports whether it is skipped instead: read twice, or not a commit of
// its stream (recorded as the subject's newest foreign message in b). A
// record of this process's own commit in flight (known) carries them
// already and is not checked; any other is decoded and checked
// (checkLogged).
func (w *indexWriter) fillLogged(b *pebble.Batch, r *indexRec, heads map[string]logHead) (skip bool, err error) {
	if r.known {
		prev, ok := heads[r.name]
		return ok && r.seq <= prev.seq, nil // read twice
	}
	c, seen, err := w.checkLogged(r, heads)
	if seen {
		return true, nil // entered already (a record the tailer read twice)
	}
	if err != nil {
		w.log.Warn("eventstore: skipping a message that is not a commit of its stream",
			"seq", r.seq, "stream", r.name, "err", err)
		return true, w.recordForeign(b, r.name, r.seq)
	}
	r.last, r.producer, r.command, r.cmdData, r.count = c.lastVersion(), c.producer, c.command, c.commandData, uint32(c.count)
	r.flags = 0
	if c.closes {
		r.flags |= flagClosed
	}
	if c.deletes {
		r.flags |= flagDeleted
	}
	r.stored = c.storedAt(time.Unix(0, r.stored)).UnixNano()
	return false, nil
}

// writeOrdered writes the log-ordered copy of the records entered (their
// indices in recs) and their event-id keys (index_eventid.go), after every other key of the batch and in log order:
// pebble's memtable then inserts each key from where the previous one went,
// as it does for the stream keys written in name order.
func writeOrdered(b *pebble.Batch, recs []indexRec, entered []int) error {
	slices.SortFunc(entered, func(i, j int) int { return cmp.Compare(recs[i].seq, recs[j].seq) })
	for _, i := range entered {
		r := &recs[i]
		op := b.SetDeferred(orderedKeyLen, orderedValueLen(r.name, r.body))
		putOrderedKey(op.Key, r.seq)
		putOrderedValue(op.Value, r.name, r.stored, r.body)
		if err := op.Finish(); err != nil {
			return err
		}
	}
	for _, i := range entered {
		if err := writeEventIDs(b, recs[i].seq, recs[i].body); err != nil {
			return err
		}
	}
	return nil
}

// checkLogged decodes a message the tailer read and checks that it is the
// next commit of its stream in log order. seen reports a message the index
// holds already (read twice, or entered from its append's record): it is
// neither entered nor rejected again.
//
// The previous commit is known from this batch (heads) and, while no
// append has fed the index (a rebuild: the tailer then reads every message
// in order), from logHeads. Once appends feed it, the tailer skips what
// they entered, so a batch's messages of one stream can have holes that
// earlier batches filled: the index is asked too.
func (w *indexWriter) checkLogged(r *indexRec, heads map[string]logHead) (c commit, seen bool, err error) {
	c, err = decodeCommit(r.body)
	if err != nil {
		return commit{}, false, err
	}
	prev, ok := heads[r.name]
	if !ok && !w.sawAppend {
		prev, ok = w.logHeads[r.name]
	}
	if ok && r.seq <= prev.seq {
		return commit{}, true, nil
	}
	if c.count == 0 && c.command != "" && !c.closes && !c.deletes {
		// A command's record without events: held if the index has the
		// record of its id at this very commit (one lookup; entered again
		// otherwise, which sets its keys to what they hold).
		co, ok, err := w.x.command(r.name, c.command)
		if err != nil || ok && co.seq == r.seq {
			return c, ok, err
		}
	}
	if c.count == 0 && (c.closes || c.deletes) {
		// A close or a tombstone: held if the index recorded it.
		held, err := w.x.holdsMarker(r.name, r.seq, c.deletes)
		if err != nil || held || c.deletes {
			return c, held, err
		}
	}
	if !ok || w.sawAppend {
		if held, err := w.x.holdsCommit(r.name, c.lastVersion(), r.seq); err != nil {
			return commit{}, false, err
		} else if held {
			return commit{}, true, nil // entered from its append's record
		}
		v, err := w.x.lastVersionBefore(r.name, r.seq)
		if err != nil {
			return commit{}, false, err
		}
		prev.version = max(prev.version, v)
	}
	if c.firstVersion != prev.version+1 {
		return commit{}, false, fmt.Errorf("%w: starts at version %d, the stream is at %d", ErrCorrupt, c.firstVersion, prev.version)
	}
	return c, false, nil
}

// dropStream commits b, then deletes what the index holds of the stream
// below the tombstone at seq and records the tombstone as the subject's
// newest foreign message, in a batch of its own, committed; b is empty
// after it.
func (w *indexWriter) dropStream(b *pebble.Batch, name string, seq uint64) error {
	if w.tombs == nil {
		w.tombs = make(map[string]uint64)
	}
	w.tombs[name] = max(w.tombs[name], seq)
	if !b.Empty() {
		if err := w.commit(b); err != nil {
			return err
		}
		b.Reset()
	}
	top, err := w.x.dropStream(b, name, seq)
	if err != nil {
		return err
	}
	if err := w.recordForeign(b, name, seq); err != nil {
		return err
	}
	// The purge of the stream's messages before the tombstone, recorded
	// with the delete: made by completePurges, from this process's
	// deletes and from other processes' alike, until it is made.
	if err := b.Set(purgeKey(seq, name), nil, nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	w.x.tops.set(name, top)
	b.Reset()
	return nil
}

// commit commits b and raises the tops of the streams whose commits it
// entered (index_tops.go): after the commit, since a top above the
// commits a look can see makes it step over the keys deleted there, and
// before anything else reads the index for them (the writer's next look,
// a drop; readers use nothing above the position, published later).
func (w *indexWriter) commit(b *pebble.Batch) error {
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for name, v := range w.raised {
		w.x.tops.raise(name, v)
	}
	clear(w.raised)
	return nil
}

// recordForeign records seq as the newest message on the stream's subject
// that is not one of its commits, if it is newer than the one recorded.
func (w *indexWriter) recordForeign(b *pebble.Batch, name string, seq uint64) error {
	key := foreignKey(name)
	// A batch holds a stream's records in log order, so a later Set in the
	// same batch is always the newer one; compare with the index only.
	v, err := w.x.get(key)
	if err != nil {
		return err
	}
	if len(v) == 8 && binary.BigEndian.Uint64(v) >= seq {
		return nil
	}
	return b.Set(key, binary.BigEndian.AppendUint64(nil, seq), nil)
}

// firstEventID returns the id of a valid commit's first event.
func firstEventID(body []byte) uuid.UUID {
	c, err := decodeCommitHeader(body)
	if err != nil {
		return uuid.Nil
	}
	d := decoder{b: c.events}
	return d.id()
}

// markTwins marks the pairs of an append's record and the tailer's record
// of the same commit in recs, sorted by stream and sequence (a pair is
// next to each other). The append's record is entered and the tailer's
// skipped: the append's carries what the tailer's would be decoded and
// checked for, and it is the same commit at the same sequence (its
// acknowledgement named it). Under this process's own appends, the
// tailer's record of a commit most often reaches the writer in the same
// batch as its append's.
func markTwins(recs []indexRec) {
	for i := 1; i < len(recs); i++ {
		a, b := &recs[i-1], &recs[i]
		if a.seq == b.seq && a.kind != b.kind && a.name == b.name && a.name != "" {
			a.twin, b.twin = true, true
		}
	}
}

// pruneOwn keeps own within maxOwn: the tailer has passed the sequences
// up to tailed (one it reads again is checked in full); if that is not
// enough (the tailer lost commits it will not read), it starts over.
func (w *indexWriter) pruneOwn(tailed uint64) {
	if len(w.own) <= maxOwn {
		return
	}
	for seq := range w.own {
		if seq <= tailed {
			delete(w.own, seq)
		}
	}
	if len(w.own) > maxOwn {
		clear(w.own)
	}
}

// advance moves written past the tailer's position and then past every
// appended commit that follows it without a gap.
func (w *indexWriter) advance(tailed uint64) {
	w.written = max(w.written, tailed)
	if len(w.above) == 0 {
		return
	}
	slices.Sort(w.above)
	i := 0
	for ; i < len(w.above) && w.above[i] <= w.written+1; i++ {
		w.written = max(w.written, w.above[i])
	}
	w.above = append(w.above[:0], w.above[i:]...)
}

// producerNewer reports whether the commit at seq is newer than the stored
// state under key (in this batch or in the index).
func (w *indexWriter) producerNewer(key []byte, seq uint64, written map[string]uint64) (bool, error) {
	if prev, ok := written[string(key)]; ok {
		return seq > prev, nil
	}
	v, err := w.x.get(key)
	if err != nil || v == nil {
		return err == nil, err
	}
	d := decoder{b: v}
	d.uvarint()
	d.uvarint()
	prev := d.uvarint()
	return d.err != nil || seq > prev, nil
}
