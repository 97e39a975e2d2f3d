package eventstore

import (
	"context"
	"errors"
	"os"
)

// Holds on the current index. A read holds the index it reads, so that
// Reindex can switch to a new generation while reads go on (the last holder
// of a retired index deletes it) and Close does not pull the database from
// under a read in progress (the last holder after Close closes it).

// acquire returns the current index, caught up to target, held until
// release. An index retired by Reindex while the caller waited is swapped
// for the new one.
func (s *Store) acquire(ctx context.Context, target uint64) (*index, error) {
	for {
		if s.closed.Load() {
			return nil, ErrClosed
		}
		s.idxMu.Lock()
		x := s.idx
		x.refs++
		s.idxMu.Unlock()
		err := x.waitFor(ctx, target)
		if err == nil {
			return x, nil
		}
		s.release(x)
		if !errors.Is(err, errRetired) {
			return nil, err
		}
	}
}

// hold returns the current index, held until release, without waiting for
// it to reach any position; false once the store is closed.
func (s *Store) hold() (*index, bool) {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if s.closed.Load() || s.idxClosed {
		return nil, false
	}
	s.idx.refs++
	return s.idx, true
}

// release drops a hold on x. The last holder of an index retired by
// Reindex closes and deletes it; the last holder after Close closes it.
func (s *Store) release(x *index) {
	s.cueStart() // a read is done: a start behind Open may begin
	s.idxMu.Lock()
	x.refs--
	last := x.refs == 0
	retired := last && x != s.idx
	closing := last && x == s.idx && s.idxLeft
	s.idxMu.Unlock()
	switch {
	case retired:
		_ = x.close()
		_ = os.RemoveAll(x.dir)
	case closing:
		s.closeIndex()
	}
}

// withIndex runs fn on the index once it holds every commit up to target,
// with the position up to which it holds every commit. If the index turns
// out to be damaged, it is rebuilt from the log and fn runs once more.
func (s *Store) withIndex(ctx context.Context, target uint64, fn func(x *index, covered uint64) error) error {
	for attempt := 0; ; attempt++ {
		x, err := s.acquire(ctx, target)
		if err != nil {
			return err
		}
		err = fn(x, x.position())
		gen := x.gen
		s.release(x)
		if err == nil || attempt > 0 || !s.rebuildAfter(ctx, gen, err) {
			return err
		}
	}
}
