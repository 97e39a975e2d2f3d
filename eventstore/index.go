package eventstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
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
// magnitude slower (measurements in shared/docs/jetstream-notes.md).
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
//   - a read waits until the index holds every commit acknowledged before
//     the read began, and uses nothing above that position.
//
// Keys:
//
//	'c' name 0x00 lastVersion(8, big-endian)  → seq(8) storedAt(8) commit body
//	'p' name 0x00 producer id                 → epoch, last seq, commit seq (uvarints)
//	'x' name 0x00                             → seq(8) of the newest foreign message on the subject
//	"m.format" → indexFormat; "m.log" → the log's identity; "m.checkpoint" → seq(8)
//	"m.newest" → seq(8) first event id(16) stream name: the newest commit held
//
// Stream names contain no control characters, so 0x00 ends a name and one
// stream's keys never interleave with another's.

// indexFormat names the layout above. Format 1 kept store times pending
// for commits that did not record them; an index of another format is
// rebuilt.
const indexFormat = "rewind-index-2"

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
	closed  bool
	retired bool // replaced by Reindex: waiters move to the new index
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

// pebbleLogger sends pebble's log lines to slog.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Debug(fmt.Sprintf(format, args...), "component", "index")
}
func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...), "component", "index")
}
func (l pebbleLogger) Fatalf(format string, args ...any) {
	// Pebble calls Fatalf on broken internal invariants and expects it not
	// to return.
	msg := fmt.Sprintf(format, args...)
	l.log.Error(msg, "component", "index")
	panic("eventstore: read index: " + msg)
}

// newestCommit is the newest commit an index holds (by log sequence), as
// "m.newest" records it.
type newestCommit struct {
	seq  uint64
	id   uuid.UUID // the commit's first event
	name string
}

func (n newestCommit) encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 24+len(n.name)), n.seq)
	b = append(b, n.id[:]...)
	return append(b, n.name...)
}

func decodeNewest(v []byte) (newestCommit, bool) {
	if len(v) < 24 {
		return newestCommit{}, false
	}
	n := newestCommit{seq: binary.BigEndian.Uint64(v), name: string(v[24:])}
	copy(n.id[:], v[8:24])
	return n, true
}

// logCheck says whether the log still holds the index's newest commit at
// its sequence. It returns "" if it does, or why not; an error means the
// log could not be asked (the index is then neither trusted nor rebuilt).
type logCheck func(newestCommit) (string, error)

// openIndex opens the newest index generation under root (a directory per
// generation, "gen-000001", ...) for the log identified by logID, whose last
// sequence is logLast, and deletes older generations. Whatever cannot be
// trusted is rebuilt: the returned index may be empty, and the tailer fills
// it from its checkpoint. A generation left half-built by a crash during
// Reindex is a valid index that is simply behind.
func openIndex(root, logID string, logLast uint64, check logCheck, cacheSize int64, log *slog.Logger) (*index, error) {
	gens, err := indexGenerations(root)
	if err != nil {
		return nil, err
	}
	if len(gens) == 0 {
		return createIndex(root, 1, logID, cacheSize, log)
	}
	gen := gens[len(gens)-1]
	for _, g := range gens[:len(gens)-1] {
		_ = os.RemoveAll(genDir(root, g))
	}
	x, reason := tryOpenIndex(genDir(root, gen), logID, logLast, cacheSize, log)
	if reason == "" {
		if reason, err = x.checkNewest(check); err != nil {
			_ = x.close()
			return nil, fmt.Errorf("eventstore: check the read index against the log: %w", err)
		}
	}
	if reason == "" {
		x.gen = gen
		startWriter(x, log)
		return x, nil
	}
	log.Warn("eventstore: rebuilding the read index from the log", "dir", genDir(root, gen), "reason", reason)
	if x != nil {
		_ = x.close()
	}
	return createIndex(root, gen, logID, cacheSize, log)
}

// checkNewest asks the log whether it still holds the index's newest
// commit.
func (x *index) checkNewest(check logCheck) (string, error) {
	v, err := x.get(keyNewest)
	if err != nil {
		return fmt.Sprintf("cannot read: %v", err), nil
	}
	if v == nil {
		return "", nil // nothing indexed yet
	}
	n, ok := decodeNewest(v)
	if !ok {
		return "newest-commit record unreadable", nil
	}
	return check(n)
}

// createIndex makes an empty index generation, replacing whatever is there.
func createIndex(root string, gen int, logID string, cacheSize int64, log *slog.Logger) (*index, error) {
	dir := genDir(root, gen)
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("eventstore: remove read index %s: %w", dir, err)
	}
	x, reason := tryOpenIndex(dir, logID, 0, cacheSize, log)
	if reason != "" {
		if x != nil {
			_ = x.close()
		}
		return nil, fmt.Errorf("eventstore: create read index %s: %s", dir, reason)
	}
	x.gen = gen
	startWriter(x, log)
	return x, nil
}

func genDir(root string, gen int) string { return filepath.Join(root, fmt.Sprintf("gen-%06d", gen)) }

// indexGenerations lists the generation numbers under root, ascending.
func indexGenerations(root string) ([]int, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("eventstore: create read index %s: %w", root, err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("eventstore: read index %s: %w", root, err)
	}
	var gens []int
	for _, e := range entries {
		var g int
		if _, err := fmt.Sscanf(e.Name(), "gen-%06d", &g); err == nil && e.IsDir() && g > 0 {
			gens = append(gens, g)
		} else {
			_ = os.RemoveAll(filepath.Join(root, e.Name())) // not ours to keep
		}
	}
	slices.Sort(gens)
	return gens, nil
}

// tryOpenIndex opens dir and reports why it cannot be used, if it cannot
// (x may then be nil).
func tryOpenIndex(dir, logID string, logLast uint64, cacheSize int64, log *slog.Logger) (*index, string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Sprintf("cannot create: %v", err)
	}
	cache := pebble.NewCache(cacheSize)
	// Larger memtables than pebble's default make rebuilds and bursts of
	// appends cheaper; memory stays bounded at two of them plus the cache.
	// No write-ahead log: the index is derived, and what a crash loses of
	// it is a suffix of its batches (a memtable is flushed whole, with the
	// checkpoint written in every batch), which the tailer reapplies from
	// the log. Close flushes the memtables.
	opts := &pebble.Options{Cache: cache, Logger: pebbleLogger{log}, MemTableSize: 16 << 20, DisableWAL: true,
		// Pebble's default stops the process on damaged data. Here the index
		// is derived: a damaged block is a read error, on which the store
		// rebuilds the index from the log.
		EventListener: &pebble.EventListener{
			DataCorruption: func(info pebble.DataCorruptionInfo) {
				log.Error("eventstore: read index damaged", "path", info.Path, "err", info.Details)
			},
			BackgroundError: func(err error) {
				log.Warn("eventstore: read index background error", "err", err)
			},
		}}
	// A read is a scan of one stream's commits, which lie together: larger
	// blocks than pebble's 4 KiB default mean fewer block reads, checksums
	// and cache lookups per read, first of all in a new process.
	for i := range opts.Levels {
		opts.Levels[i].BlockSize = 32 << 10
	}
	db, err := openPebble(dir, opts)
	if err != nil {
		cache.Unref()
		return nil, fmt.Sprintf("cannot open: %v", err)
	}
	x := &index{db: db, cache: cache, dir: dir, notify: make(chan struct{})}
	format, err := x.get(keyFormat)
	if err != nil {
		return x, fmt.Sprintf("cannot read: %v", err)
	}
	if format == nil {
		if !x.empty() {
			return x, "no format record"
		}
		return x, x.initFresh(logID)
	}
	if string(format) != indexFormat {
		return x, fmt.Sprintf("format %q, want %q", format, indexFormat)
	}
	id, err := x.get(keyLog)
	if err != nil || string(id) != logID {
		return x, fmt.Sprintf("built from log %q, the log is %q", id, logID)
	}
	cp, err := x.get(keyCheckpoint)
	if err != nil || len(cp) != 8 {
		return x, "checkpoint unreadable"
	}
	x.written = binary.BigEndian.Uint64(cp)
	if x.written > logLast {
		return x, fmt.Sprintf("checkpoint %d is ahead of the log's last sequence %d", x.written, logLast)
	}
	if reason := x.verifyTail(); reason != "" {
		return x, reason
	}
	return x, ""
}

// openPebble opens a pebble database, turning a panic inside pebble (which
// it uses for some kinds of on-disk corruption) into an error.
func openPebble(dir string, opts *pebble.Options) (db *pebble.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pebble: %v", r)
		}
	}()
	return pebble.Open(dir, opts)
}

// empty reports whether the database holds no key at all.
func (x *index) empty() bool {
	it, err := x.db.NewIter(nil)
	if err != nil {
		return false
	}
	defer it.Close()
	return !it.First() && it.Error() == nil
}

func (x *index) initFresh(logID string) string {
	b := x.db.NewBatch()
	defer b.Close()
	_ = b.Set(keyFormat, []byte(indexFormat), nil)
	_ = b.Set(keyLog, []byte(logID), nil)
	_ = b.Set(keyCheckpoint, make([]byte, 8), nil)
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Sprintf("cannot write: %v", err)
	}
	return ""
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
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.db == nil {
		return nil
	}
	err := errors.Join(x.db.Flush(), x.db.Close())
	x.cache.Unref()
	x.db = nil
	if err != nil {
		return fmt.Errorf("read index %s: %w", x.dir, err)
	}
	return nil
}

// position returns the log sequence up to which the index holds every
// commit.
func (x *index) position() uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.written
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

// waitKick is how long a reader waits for the writer before it asks the
// tailer to run at once (for a commit whose append did not report it).
const waitKick = 2 * time.Millisecond

// indexStallTimeout bounds a wait for the read index: a wait ends with
// ErrIndexStalled when the index has not moved for this long (the log
// unreachable, the tailer unable to read it). A wait that sees progress
// goes on, however long a catch-up or rebuild takes.
const indexStallTimeout = 10 * time.Second

// waitFor blocks until the index holds every commit up to seq, ctx ends, or
// the index stalls (indexStallTimeout).
func (x *index) waitFor(ctx context.Context, seq uint64) error {
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
			return fmt.Errorf("waiting for the read index to reach %d (at %d): %w", seq, pos, ctx.Err())
		}
	}
}

// verifyTail reads the first and last records, so that an index whose
// files were truncated or overwritten is caught at open rather than on the
// first read (pebble checksums every block it reads; later damage surfaces
// as a read error, on which the store rebuilds).
func (x *index) verifyTail() string {
	it, err := x.db.NewIter(nil)
	if err != nil {
		return fmt.Sprintf("cannot read: %v", err)
	}
	defer it.Close()
	for _, ok := range []bool{it.First(), it.Last()} {
		if !ok {
			break
		}
		if _, err := it.ValueAndErr(); err != nil {
			return fmt.Sprintf("cannot read: %v", err)
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Sprintf("cannot read: %v", err)
	}
	return ""
}
