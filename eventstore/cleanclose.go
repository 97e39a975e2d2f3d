package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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
}

// readCleanMark returns the mark under the index root, if there is a
// readable one.
func readCleanMark(root string) (cleanMark, bool) {
	b, err := os.ReadFile(filepath.Join(root, cleanMarkName))
	if err != nil {
		return cleanMark{}, false
	}
	var m cleanMark
	if json.Unmarshal(b, &m) != nil || m.Gen <= 0 || m.Log == "" || m.Seq == 0 {
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

// quickIndex returns the index f opened if the clean-close mark vouches for
// it: the mark's generation, log and sequence are the index's own.
func (f *indexFiles) quickIndex(m cleanMark) (*index, bool) {
	if f.err != nil || f.x == nil || f.reason != "" || f.x.fresh || f.gen != m.Gen {
		return nil, false
	}
	if id, err := f.x.get(keyLog); err != nil || string(id) != m.Log || f.x.written != m.Seq {
		return nil, false
	}
	f.x.gen = f.gen
	return f.x, true
}

// startBehind starts the embedded server for a store that Open returned
// before it (the index was vouched for by its clean-close mark), connects,
// finds the log and checks the index against it, then lets the calls that
// need the server through (awaitStart). It runs on the store's wait group:
// Close waits for it.
func (s *Store) startBehind(dir string, x *index) {
	err := s.startServerBehind(dir, x)
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

func (s *Store) startServerBehind(dir string, x *index) error {
	if s.cfg.startHold != nil {
		select {
		case <-s.cfg.startHold:
		case <-s.ctx.Done():
			return ErrClosed
		}
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
	reason, err := x.checkAgainstLog(s.logID, last, s.newestInLog(ctx))
	if err != nil {
		return err
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
