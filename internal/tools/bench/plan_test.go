package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// lateStore stores every append, but answers the first try of every
// tenth with the store's own deadline, as an append whose acknowledgement
// came too late does; a retry at a version already taken is refused.
type lateStore struct {
	mu     sync.Mutex
	n      map[string]int
	calls  int
	stored int
}

var errConflict = errors.New("concurrency conflict")

func (s *lateStore) Append(_ context.Context, stream string, expect uint64, _ []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if uint64(s.n[stream]) != expect {
		return fmt.Errorf("expected version %d, actual %d: %w", expect, s.n[stream], errConflict)
	}
	s.n[stream]++
	s.stored++
	if s.calls%10 == 0 {
		return fmt.Errorf("append: %w", context.DeadlineExceeded)
	}
	return nil
}

func (s *lateStore) Read(_ context.Context, stream string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[stream], nil
}

func (s *lateStore) Replay(context.Context) (int, error) { return 0, nil }
func (s *lateStore) Close() error                        { return nil }

// TestBuildCountsAnAppendStoredAfterItsTimeout: an append that timed out
// but was stored is not stored again, and does not stop the build.
func TestBuildCountsAnAppendStoredAfterItsTimeout(t *testing.T) {
	p := newPlan(2000, 4)
	st := &lateStore{n: map[string]int{}}
	b := newBuilder(p)
	if _, err := b.build(context.Background(), st, 0, len(p.pos)); err != nil {
		t.Fatalf("build: %v", err)
	}
	if st.stored != len(p.pos) {
		t.Fatalf("stored %d events for %d positions", st.stored, len(p.pos))
	}
	if b.retries.Load() == 0 {
		t.Fatal("no append was retried: the test did not time one out")
	}
	for i, name := range p.names {
		if uint64(st.n[name]) != b.ver[i] {
			t.Fatalf("%s: the builder counts %d events, the store holds %d", name, b.ver[i], st.n[name])
		}
	}
}
