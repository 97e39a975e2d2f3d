package eventstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rewindhq/rewind/observe"
)

// The group commit of SyncAlways.
//
// JetStream's own SyncAlways fsyncs each message inside the stream's one
// processing loop, so concurrent appends share no fsync: 16 appenders get
// no more through than one (measured: 5.0k/s with one, 6.4k/s with 16).
// The server offers no call to fsync a stream on demand, and its atomic
// batches stage every batch in a filestore of its own on disk (about four
// fsyncs, three mkdirs and a dozen unlinks each: 0.3–2k appends/s). So with
// SyncAlways the store runs the server without it and fsyncs the log's
// message blocks itself, for groups of appends:
//
//   - on a single-replica file stream with the default persist mode, the
//     server writes (pwrite) each message to its block file before it
//     sends the acknowledgement (nats-server 2.15, filestore.go,
//     writeMsgRecordLocked with fip set, flushPendingMsgsLocked), so an
//     fsync of that file that begins after the acknowledgement makes the
//     append durable;
//   - an appender that has its acknowledgement asks for a round that
//     begins after it asked and waits for it. When no round is running,
//     it runs one itself (no hand-off to another goroutine: one writer
//     pays its fsync and nothing else); appenders that arrive meanwhile
//     wait, and the first of them to wake runs the next round for all
//     of them (measured: 17–21k appends/s with 16 appenders, 3.4 to 4.2
//     times one appender's 4.7–5.1k/s);
//   - a round fdatasyncs (fsync where there is no fdatasync) the block
//     that was newest at the previous round and every block created
//     since: the data and the file's size, what reading it back needs,
//     not its times; and it fsyncs the msgs directory when a block
//     appeared (and the stream's directory once).
//
// This depends on how the server writes, which is checked again on every
// upgrade of nats-server (TestSyncAlwaysDurable kills the process after
// acknowledged appends). It covers appends, which is what an event store
// does; the log is never purged or compacted by Rewind.

// groupSyncer fsyncs a stream's message blocks in rounds for waiting
// appenders, each round run by one of them.
type groupSyncer struct {
	dir string // the stream's msgs directory
	log *slog.Logger

	mu      sync.Mutex
	cond    *sync.Cond // signalled when a round ends and at close
	started uint64     // the last round begun
	done    uint64     // the last round finished
	running bool       // a round is running
	err     error      // sticky: once an fsync failed, nothing is durable for sure
	quit    bool

	onRound func(start, end time.Time) // tests: called after each round
	obs     *observe.Observer          // counts the rounds; nil: none
	joined  int                        // appends waiting for the next round

	// Owned by the round running (running is true).
	files   map[int]*os.File // open block files by index
	newest  int              // the newest block index known
	dirSync bool             // the stream's directory was fsynced once
}

// startGroupSyncer makes the syncer of the log stream name, whose server
// keeps its JetStream files in storeDir.
func startGroupSyncer(storeDir, name string, log *slog.Logger) (*groupSyncer, error) {
	dir := filepath.Join(storeDir, "$G", "streams", name, "msgs")
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("eventstore: SyncAlways: the log's message blocks: %w", err)
	}
	g := &groupSyncer{dir: dir, log: log, files: make(map[int]*os.File)}
	g.cond = sync.NewCond(&g.mu)
	return g, nil
}

// wait returns once an fsync of the log that began after the call has
// finished, or ctx ends, or the syncer is closed. It runs that fsync
// itself when no other round is running.
func (g *groupSyncer) wait(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	target := g.started + 1
	g.joined++
	for g.done < target && g.err == nil && !g.quit {
		if !g.running {
			g.runRound()
			continue
		}
		if err := waitCond(ctx, g.cond); err != nil {
			return fmt.Errorf("waiting for the fsync: %w", err)
		}
	}
	switch {
	case g.err != nil:
		return g.err
	case g.done < target:
		return ErrClosed
	}
	return nil
}

// runRound runs one round; g.mu is held on entry and on return, not
// during the fsyncs.
func (g *groupSyncer) runRound() {
	g.running = true
	g.started++
	round, joined, obs := g.started, g.joined, g.obs
	g.joined = 0
	g.mu.Unlock()

	start := time.Now()
	err := g.syncRound()
	if g.onRound != nil {
		g.onRound(start, time.Now())
	}
	obs.GroupCommit(joined, time.Since(start))

	g.mu.Lock()
	if err != nil && g.err == nil {
		g.err = fmt.Errorf("eventstore: fsync of the log: %w", err)
		g.log.Error("eventstore: fsync of the log failed; appends fail from now on", "err", err)
	}
	g.done = round
	g.running = false
	g.cond.Broadcast()
}

// syncRound fsyncs the block that was newest at the previous round (it may
// have had more appends) and every block created since.
func (g *groupSyncer) syncRound() error {
	first := g.newest
	dirty := false
	if g.newest == 0 {
		// The first round: find the newest block (older ones may be gone).
		n, err := newestBlock(g.dir)
		if err != nil {
			return err
		}
		g.newest, first, dirty = max(n-1, 0), n, true
	}
	for i := g.newest + 1; ; i++ {
		f, err := os.Open(filepath.Join(g.dir, strconv.Itoa(i)+".blk"))
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return err
		}
		g.files[i] = f
		g.newest, dirty = i, true
	}
	for i := max(first, 1); i <= g.newest; i++ {
		if f := g.files[i]; f != nil {
			if err := datasync(f); err != nil {
				return err
			}
		}
	}
	for i, f := range g.files {
		if i < g.newest { // no longer appended to
			_ = f.Close()
			delete(g.files, i)
		}
	}
	if dirty {
		if err := syncDir(g.dir); err != nil {
			return err
		}
		if !g.dirSync {
			if err := syncDir(filepath.Dir(g.dir)); err != nil {
				return err
			}
			g.dirSync = true
		}
	}
	return nil
}

// newestBlock returns the highest index of a block file in dir (0: none).
func newestBlock(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if i, err := strconv.Atoi(strings.TrimSuffix(e.Name(), ".blk")); err == nil && strings.HasSuffix(e.Name(), ".blk") {
			n = max(n, i)
		}
	}
	return n, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// close stops the syncer once the round running, if any, has ended;
// waiting appenders end with ErrClosed. It returns the fsync error that
// stopped appends, if one did.
func (g *groupSyncer) close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.quit = true
	g.cond.Broadcast()
	for g.running {
		g.cond.Wait()
	}
	for i, f := range g.files {
		_ = f.Close()
		delete(g.files, i)
	}
	return g.err
}
