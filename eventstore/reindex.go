package eventstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Reindex rebuilds the read index from the log into a new generation
// beside the current one, calling progress (if not nil) with the log
// sequences applied so far and the log's last sequence when the rebuild
// began; then it switches reads to the new index and deletes the old one as
// soon as no read holds it. Reads go on meanwhile, on the old index. The
// store also rebuilds on its own whenever it opens an index that is
// missing, damaged, of another format, of another log or ahead of the log,
// and when a read finds the index damaged; Reindex is for doing it on
// purpose. It ends with ErrClosed if the store closes first, leaving
// nothing of the new index behind.
func (s *Store) Reindex(ctx context.Context, progress func(applied, total uint64)) error {
	if s.closed.Load() {
		return ErrClosed
	}
	s.reindexMu.Lock()
	defer s.reindexMu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	// The rebuild ends with the caller's ctx or with the store.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()
	total, err := s.logLastSeq(ctx)
	if err != nil {
		return err
	}
	s.idxMu.Lock()
	gen := s.idx.gen + 1
	s.idxMu.Unlock()
	x, err := createIndex(s.indexDir, gen, s.logID, s.cfg.cacheSize, s.log)
	if err != nil {
		return fmt.Errorf("eventstore: reindex: %w", err)
	}
	t := s.startTailer(x)
	if err := waitProgress(ctx, x, total, progress); err != nil {
		t.stop()
		_ = x.close()
		_ = os.RemoveAll(x.dir)
		return s.closedOr(err)
	}
	s.idxMu.Lock()
	old, oldT := s.idx, s.tailer
	s.idx, s.tailer = x, t
	idle := old.refs == 0
	s.idxMu.Unlock()
	oldT.stop()
	old.retire()
	if idle {
		_ = old.close()
		_ = os.RemoveAll(old.dir)
	}
	s.log.Info("eventstore: read index rebuilt", "dir", x.dir, "events_through", total)
	s.cfg.observer.IndexRebuilt()
	return nil
}

func waitProgress(ctx context.Context, x *index, total uint64, progress func(applied, total uint64)) error {
	for {
		pos := x.position()
		if progress != nil {
			progress(min(pos, total), total)
		}
		if pos >= total {
			return nil
		}
		wctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		err := x.waitFor(wctx, total)
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("eventstore: reindex: %w", ctx.Err())
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("eventstore: reindex: %w", err)
		}
	}
}

// indexDamaged reports whether a read's error says the index itself is
// damaged (as opposed to the log being unreachable, the caller giving up or
// the store closing), which is the only reason a read rebuilds it.
func indexDamaged(err error) bool {
	return errors.Is(err, ErrCorrupt) || pebble.IsCorruptionError(err)
}

// rebuild is one rebuild of a damaged index generation, shared by every
// read that found it damaged.
type rebuild struct {
	gen  int
	done chan struct{}
	err  error
}

// rebuildAfter rebuilds the index after a read of generation gen failed
// with err, if err says the index is damaged, and reports whether a read
// may try again. Reads that fail on the same generation share one rebuild,
// which runs on the store's lifetime (a reader that gives up does not stop
// it for the others).
func (s *Store) rebuildAfter(ctx context.Context, gen int, err error) bool {
	if !indexDamaged(err) || ctx.Err() != nil {
		return false
	}
	s.idxMu.Lock()
	if s.closed.Load() {
		s.idxMu.Unlock()
		return false
	}
	if s.idx.gen != gen { // rebuilt since the failed read began
		s.idxMu.Unlock()
		return true
	}
	r := s.rebuilding
	if r == nil || r.gen != gen {
		r = &rebuild{gen: gen, done: make(chan struct{})}
		s.rebuilding = r
		s.log.Error("eventstore: read index damaged, rebuilding it from the log", "gen", gen, "err", err)
		s.wg.Go(func() {
			defer close(r.done)
			if r.err = s.Reindex(s.ctx, nil); r.err != nil {
				s.log.Error("eventstore: read index rebuild failed", "err", r.err)
			}
		})
	}
	s.idxMu.Unlock()
	select {
	case <-r.done:
		return r.err == nil
	case <-ctx.Done():
		return false
	}
}
