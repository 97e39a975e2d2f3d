package eventstore

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
)

// Opening the read index: generations, the checks that decide whether an
// index on disk can be trusted, and the creation of a fresh one.

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

// Opening the index is done in two halves. openIndexFiles opens the newest
// index generation under root (a directory per generation, "gen-000001",
// ...), deletes older generations and reads the index's own records, before
// anything is known of the log: Store.start runs it while the server starts
// and the log is looked up. finish then checks it against the log
// identified by logID, whose last sequence is logLast. Whatever cannot be
// trusted is rebuilt: the index finish returns may be empty, and the
// tailer fills it from its checkpoint. A generation left half-built by a
// crash during Reindex is a valid index that is simply behind. A trusted
// index comes back with its compactions held (index_compactions.go) until
// the store opens them.
//
// indexFiles is what the first half found.
type indexFiles struct {
	root      string
	cacheSize int64
	log       *slog.Logger
	gen       int    // 0: no generation yet
	x         *index // the generation's database, if it opened
	reason    string // why it cannot be used, whatever the log holds
	err       error
	rebuilt   bool // finish put a fresh generation in place of one it could not use
}

func openIndexFiles(root string, cacheSize int64, log *slog.Logger) *indexFiles {
	f := &indexFiles{root: root, cacheSize: cacheSize, log: log}
	gen, err := newestGeneration(root)
	if err != nil {
		f.err = err
		return f
	}
	if gen == 0 {
		return f
	}
	f.gen = gen
	f.x, f.reason = openIndexDB(genDir(root, f.gen), cacheSize, log)
	return f
}

// discard closes what openIndexFiles opened, when the store's start
// failed before finish.
func (f *indexFiles) discard() {
	if f.x != nil {
		_ = f.x.close()
	}
}

// finish checks the opened generation against the log and returns it, or
// a fresh one in its place.
func (f *indexFiles) finish(logID string, logLast uint64, check logCheck) (*index, error) {
	if f.err != nil {
		return nil, f.err
	}
	if f.gen == 0 {
		return createIndex(f.root, 1, logID, f.cacheSize, f.log)
	}
	x, reason := f.x, f.reason
	if reason == "" {
		var err error
		if reason, err = x.checkAgainstLog(logID, logLast, check); err != nil {
			_ = x.close()
			return nil, err
		}
	}
	if reason == "" {
		x.gen = f.gen
		startWriter(x, f.log, nil)
		return x, nil
	}
	f.log.Warn("eventstore: rebuilding the read index from the log", "dir", genDir(f.root, f.gen), "reason", reason)
	if x != nil {
		_ = x.close()
	}
	f.rebuilt = true
	return createIndex(f.root, f.gen, logID, f.cacheSize, f.log)
}

// checkAgainstLog says why the index cannot be used for the log logID
// whose last sequence is logLast ("" if it can): built from another log,
// ahead of it, or its newest commit not the log's (checkLog, checkNewest).
func (x *index) checkAgainstLog(logID string, logLast uint64, check logCheck) (string, error) {
	if reason := x.checkLog(logID, logLast); reason != "" {
		return reason, nil
	}
	reason, err := x.checkNewest(check)
	if err != nil {
		return "", fmt.Errorf("eventstore: check the read index against the log: %w", err)
	}
	return reason, nil
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
	startWriter(x, log, nil)
	x.compactions.openGate() // nothing to wait for in a fresh index
	return x, nil
}

func genDir(root string, gen int) string { return filepath.Join(root, fmt.Sprintf("gen-%06d", gen)) }

// newestGeneration returns the newest generation under root (0: none)
// and removes the older ones, left by a rebuild that replaced them.
func newestGeneration(root string) (int, error) {
	gens, err := indexGenerations(root)
	if err != nil || len(gens) == 0 {
		return 0, err
	}
	for _, g := range gens[:len(gens)-1] {
		_ = os.RemoveAll(genDir(root, g))
	}
	return gens[len(gens)-1], nil
}

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
		} else if e.Name() != cleanMarkName { // the mark is removed by dropCleanMark, durably
			_ = os.RemoveAll(filepath.Join(root, e.Name())) // not ours to keep
		}
	}
	slices.Sort(gens)
	return gens, nil
}

// tryOpenIndex opens dir and reports why it cannot be used for the log
// logID whose last sequence is logLast, if it cannot (x may then be nil).
func tryOpenIndex(dir, logID string, logLast uint64, cacheSize int64, log *slog.Logger) (*index, string) {
	x, reason := openIndexDB(dir, cacheSize, log)
	if reason == "" {
		reason = x.checkLog(logID, logLast)
	}
	return x, reason
}

// openIndexDB opens dir and reads the index's own records: its format and
// checkpoint, its first and last keys. It reports why the index cannot be
// used whatever the log holds, if it cannot (x may then be nil).
func openIndexDB(dir string, cacheSize int64, log *slog.Logger) (*index, string) {
	x, reason := openIndexPebble(dir, cacheSize, log)
	if reason != "" {
		return x, reason
	}
	return x, x.readRecords()
}

// openIndexPebble opens dir's database, reading none of its records.
func openIndexPebble(dir string, cacheSize int64, log *slog.Logger) (*index, string) {
	return openIndexPebbleOn(vfs.Default, dir, cacheSize, log)
}

// openIndexPebbleOn is openIndexPebble on the file system base (tests give
// one that fails).
func openIndexPebbleOn(base vfs.FS, dir string, cacheSize int64, log *slog.Logger) (*index, string) {
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
	gate := newCompactionGate()
	health := newIndexHealth(log)
	opts := &pebble.Options{Cache: cache, Logger: pebbleLogger{log}, DisableWAL: true,
		// The index is written as fast as the log is, every commit body
		// twice (a stream's copy and the log-ordered one), so compactions
		// are most of its cost: larger memtables, more L0 files before a
		// compaction and a larger base level mean fewer rewrites of the
		// same bytes (about a third more of 100-message HTTP appends here).
		MemTableSize: 32 << 20, L0CompactionThreshold: 8, LBaseMaxBytes: 512 << 20,
		// Pebble's default stops the process on damaged data. Here the index
		// is derived: a damaged block is a read error, on which the store
		// rebuilds the index from the log.
		EventListener: &pebble.EventListener{
			DataCorruption: func(info pebble.DataCorruptionInfo) {
				log.Error("eventstore: read index damaged", "path", info.Path, "err", firstLine(info.Details))
			},
			// A failed flush or compaction is tried again at once, for
			// ever (index_health.go).
			BackgroundError: health.failed,
			FlushEnd: func(info pebble.FlushInfo) {
				if info.Err == nil {
					health.flushed()
				}
			},
		}}
	// A read is a scan of one stream's commits, which lie together: larger
	// blocks than pebble's 4 KiB default mean fewer block reads, checksums
	// and cache lookups per read, first of all in a new process.
	// Point lookups (a command id, a producer, a foreign message) mostly
	// miss: bloom filters let a miss skip the tables that cannot hold the
	// key, for about ten bits a key.
	// No compaction before the store is open (index_compactions.go).
	opts.Experimental.CompactionScheduler = gate
	// No table statistics: pebble computes them by opening every table
	// after Open, in the background, to aim compactions at deletions; this
	// index deletes only when a stream is deleted, and a new process would
	// spend its first milliseconds, which its first read needs, on them.
	opts.DisableTableStats = true
	for i := range opts.Levels {
		opts.Levels[i].BlockSize = 32 << 10
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	setIndexCompression(opts)
	fs, opening := newOpenFS(base, health)
	opts.FS = fs
	opening.Store(true)
	db, err := openPebble(dir, opts)
	opening.Store(false)
	if err != nil {
		cache.Unref()
		health.halt()
		return nil, fmt.Sprintf("cannot open: %v", firstLine(err))
	}
	return &index{db: db, cache: cache, dir: dir, notify: make(chan struct{}), compactions: gate, health: health}, ""
}

// readRecords reads the index's format and checkpoint and its first and
// last keys, and says why the index cannot be used whatever the log holds,
// if it cannot.
func (x *index) readRecords() string {
	format, err := x.get(keyFormat)
	if err != nil {
		return fmt.Sprintf("cannot read: %v", err)
	}
	if format == nil {
		if !x.empty() {
			return "no format record"
		}
		x.fresh = true
		return ""
	}
	if string(format) != indexFormat {
		return fmt.Sprintf("format %q, want %q", format, indexFormat)
	}
	cp, err := x.get(keyCheckpoint)
	if err != nil || len(cp) != 8 {
		return "checkpoint unreadable"
	}
	x.written = binary.BigEndian.Uint64(cp)
	return x.verifyTail()
}

// checkLog says whether the index opened by openIndexDB was built from the
// log logID and is not ahead of its last sequence; a fresh one is made
// the index of that log.
func (x *index) checkLog(logID string, logLast uint64) string {
	if x.fresh {
		x.fresh = false
		return x.initFresh(logID)
	}
	id, err := x.get(keyLog)
	if err != nil || string(id) != logID {
		return fmt.Sprintf("built from log %q, the log is %q", id, logID)
	}
	if x.written > logLast {
		return fmt.Sprintf("checkpoint %d is ahead of the log's last sequence %d", x.written, logLast)
	}
	return ""
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
