package eventstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Opening without waiting for the server. With the embedded server and no
// listener, the store's directory is this process's alone (lock.go) and
// nothing but this store writes its log. An index that Close left exactly at
// the log's end therefore still describes the log at the next Open, unless
// the log's files were changed by something else in between. Close records
// that in a small file beside the index generations (the clean-close mark:
// the generation, the log's id and its last sequence), written only once
// the index is closed and its files synced. Open then serves reads from
// that index at once and starts the server behind it; the mark is removed,
// durably, before the store accepts anything that could change the log, so
// a mark is never older than the log after a crash. Once the server is up,
// the index is checked against the log as any index is (the log's id, its
// last sequence, the newest commit); if they disagree, the index catches up
// or is rebuilt before reads trust it again.

const cleanMarkName = "clean-close"

// cleanMark is what the clean-close mark holds.
type cleanMark struct {
	Gen int    `json:"gen"`
	Log string `json:"log"`
	Seq uint64 `json:"seq"`
	// Format is the index's format (indexFormat when the mark was
	// written): a mark left by another version of the store is not used.
	Format string `json:"format"`
}

// readCleanMark returns the mark under the index root, if there is a
// readable one.
func readCleanMark(root string) (cleanMark, bool) {
	b, err := os.ReadFile(filepath.Join(root, cleanMarkName))
	if err != nil {
		return cleanMark{}, false
	}
	var m cleanMark
	if json.Unmarshal(b, &m) != nil || m.Gen <= 0 || m.Log == "" || m.Seq == 0 || m.Format != indexFormat {
		return cleanMark{}, false
	}
	return m, true
}

// writeCleanMark writes the mark durably: a temporary file synced, renamed
// into place, the directory synced.
func writeCleanMark(root string, m cleanMark) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := filepath.Join(root, cleanMarkName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(root, cleanMarkName))
	}
	if err == nil {
		err = syncDir(root)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("eventstore: write the read index's clean-close mark: %w", err)
	}
	return nil
}

// dropCleanMark removes the mark durably, if there is one.
func dropCleanMark(root string) error {
	err := os.Remove(filepath.Join(root, cleanMarkName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = syncDir(root)
	}
	if err != nil {
		return fmt.Errorf("eventstore: remove the read index's clean-close mark: %w", err)
	}
	return nil
}

// openMarked opens the index generation the mark names, if it is the
// newest one, and takes the mark's word for its records (format, log,
// checkpoint) without reading them: Open then reads no block of the index
// before the first read asks for one. The records and the first and last
// keys are read when the server starts behind Open (checkMarked), before
// anything new is served; an index that does not match is rebuilt then.
// false: open the index the usual way.
func openMarked(root string, m cleanMark, cacheSize int64, log *slog.Logger) (*index, bool) {
	if gen, err := newestGeneration(root); err != nil || gen != m.Gen {
		return nil, false
	}
	x, reason := openIndexPebble(genDir(root, m.Gen), cacheSize, log)
	if reason != "" {
		if x != nil {
			_ = x.close()
		}
		return nil, false
	}
	x.gen, x.written = m.Gen, m.Seq
	return x, true
}

// checkMarked says why an index opened by openMarked is not the one its
// mark describes ("" if it is): its format, log and checkpoint records,
// and its first and last keys readable. Nothing writes to the index
// before the server has started, so its checkpoint is still the mark's.
func (x *index) checkMarked(m cleanMark) string {
	format, err := x.get(keyFormat)
	if err != nil {
		return fmt.Sprintf("cannot read: %v", err)
	}
	if string(format) != m.Format {
		return fmt.Sprintf("format %q, the clean-close mark says %q", format, m.Format)
	}
	if id, err := x.get(keyLog); err != nil || string(id) != m.Log {
		return fmt.Sprintf("built from log %q, the clean-close mark says %q", id, m.Log)
	}
	cp, err := x.get(keyCheckpoint)
	if err != nil || len(cp) != 8 {
		return "checkpoint unreadable"
	}
	if at := binary.BigEndian.Uint64(cp); at != m.Seq {
		return fmt.Sprintf("checkpoint %d, the clean-close mark says %d", at, m.Seq)
	}
	return x.verifyTail()
}

// startBehind starts the embedded server for a store that Open returned
// before it (the index was vouched for by its clean-close mark), connects,
// finds the log and checks the index against it, then lets the calls that
// need the server through (awaitStart). It runs on the store's wait group:
// Close waits for it.
func (s *Store) startBehind(dir string, x *index, m cleanMark) {
	err := s.startServerBehind(dir, x, m)
	if err != nil && !s.closed.Load() {
		s.log.Error("eventstore: the embedded server did not start", "dir", dir, "err", err)
	}
	if err != nil {
		if s.closed.Load() {
			err = ErrClosed
		} else {
			err = &StartError{Dir: dir, Err: err}
		}
	}
	s.startErr = err
	close(s.startDone)
}

func (s *Store) startServerBehind(dir string, x *index, m cleanMark) error {
	if s.cfg.startHold != nil {
		select {
		case <-s.cfg.startHold:
		case <-s.ctx.Done():
			return ErrClosed
		}
	}
	if !s.awaitStartCue() {
		return ErrClosed
	}
	srv, err := startServer(dir, &s.cfg)
	if err != nil {
		return err
	}
	s.srv = srv
	ctx := s.ctx
	if err := s.connect(s.embeddedDial()); err != nil {
		return err
	}
	last, err := s.openLog(ctx)
	if err != nil {
		return err
	}
	// From here on the log may change: the mark must not outlive this.
	if err := dropCleanMark(s.indexDir); err != nil {
		return err
	}
	reason := x.checkMarked(m)
	if reason == "" {
		if reason, err = x.checkAgainstLog(s.logID, last, s.newestInLog(ctx)); err != nil {
			return err
		}
	}
	if reason == "" {
		// The index is this log's, at or behind its end: the tailer
		// brings it up to the end, and reads from now on wait for that.
		s.idxMu.Lock()
		s.tailer = s.startTailer(x)
		s.idxMu.Unlock()
		s.lastAcked.Store(last)
		x.compactions.openGate()
		s.watchIndex()
		return nil
	}
	// The index does not describe this log: reads wait for a new one,
	// built from the log, in its place.
	s.log.Warn("eventstore: rebuilding the read index from the log", "dir", x.dir, "reason", reason)
	s.cfg.observer.IndexRebuilt()
	nx, err := createIndex(s.indexDir, x.gen+1, s.logID, s.cfg.cacheSize, s.log)
	if err != nil {
		return err
	}
	s.idxMu.Lock()
	s.idx = nx
	s.tailer = s.startTailer(nx)
	s.lastAcked.Store(last)
	idle := x.refs == 0
	s.idxMu.Unlock()
	x.retire()
	if idle {
		_ = x.close()
		_ = os.RemoveAll(x.dir)
	}
	s.watchIndex()
	return nil
}

// The server's start behind Open waits for a cue: the first call that
// needs the server, the end of the first use of the index (a read: a
// process that opens the store to read one stream gets it without the
// start competing for the CPU), or startDelay after Open, whichever comes
// first. A Close before the cue ends the wait without starting the
// server: nothing could have changed the log or the index, so the
// clean-close mark stays and the next Open is as quick.
const startDelay = 10 * time.Millisecond

const (
	startPending   = iota // startBehind waits for its cue
	startBegun            // it is starting the server
	startCancelled        // Close came first: it will not
)

// cueStart lets a start waiting behind Open begin now (once; a no-op
// otherwise).
func (s *Store) cueStart() {
	if !s.startCued.Load() && s.startCued.CompareAndSwap(false, true) {
		close(s.startCue)
	}
}

// awaitStartCue waits for the cue of the start behind Open and reports
// whether to start (false: Close came first).
func (s *Store) awaitStartCue() bool {
	d := startDelay
	if s.cfg.startDelay > 0 {
		d = s.cfg.startDelay
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.startCue:
	case <-t.C:
	case <-s.ctx.Done():
	}
	return s.startState.CompareAndSwap(startPending, startBegun)
}

// awaitStart waits until the store's server has started and the index has
// been checked against the log, and returns why not if that failed. Every
// call that needs the server or the log goes through it; a store opened
// with the server already up passes at once.
func (s *Store) awaitStart(ctx context.Context) error {
	select {
	case <-s.startDone:
		return s.startErr
	default:
	}
	s.cueStart()
	select {
	case <-s.startDone:
		return s.startErr
	case <-ctx.Done():
		return fmt.Errorf("eventstore: waiting for the embedded server to start: %w", ctx.Err())
	case <-s.ctx.Done():
		return ErrClosed
	}
}

// Started waits until the store is fully started: with Open, its embedded
// server is up and the read index has been checked against the log (Open
// may return before that, see Open). It returns nil once it is, the error
// that stopped it (wrapping ErrStart), ErrClosed, or ctx's error. Appends,
// subscriptions and every other call that needs the log wait for the same
// thing on their own; Started is for a caller that wants to know, such as
// a health check.
func (s *Store) Started(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.awaitStart(ctx)
}

// cleanLast asks the server, on the reader's connection once the writer's
// is closed (nothing of this process can append any more), for the log's
// last sequence; 0 if it cannot say.
func (s *Store) cleanLast() uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := s.rjs.Stream(ctx, s.jsName)
	if err != nil {
		return 0
	}
	return st.CachedInfo().State.LastSeq
}
