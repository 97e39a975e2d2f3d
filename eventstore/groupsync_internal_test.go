package eventstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSyncAlwaysGroupCommit: with SyncAlways, every Append returns only
// after an fsync of the log's newest block that began after the append was
// acknowledged, and concurrent appends share fsyncs.
func TestSyncAlwaysGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), SyncAlways())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustStart(t, s)
	g := s.syncer
	if g == nil {
		t.Fatal("SyncAlways store without a group syncer")
	}
	// Record when each round begins and ends.
	var mu sync.Mutex
	type round struct{ start, end time.Time }
	var rounds []round
	var syncs atomic.Int64
	g.onRound = func(start, end time.Time) {
		mu.Lock()
		rounds = append(rounds, round{start, end})
		mu.Unlock()
		syncs.Add(1)
	}
	const writers, each = 16, 40
	type call struct{ called, returned time.Time }
	calls := make([][]call, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				c := call{called: time.Now()}
				_, err := s.Append(ctx, fmt.Sprintf("sync/%d", w), []Event{{Type: "T", Data: []byte(fmt.Sprint(i))}})
				if err != nil {
					t.Error(err)
					return
				}
				c.returned = time.Now()
				calls[w] = append(calls[w], c)
			}
		})
	}
	wg.Wait()
	if g.newest == 0 {
		t.Errorf("the syncer found no message block")
	}
	mu.Lock()
	defer mu.Unlock()
	// Each append returned after a round that began after it was called
	// (so after its acknowledgement) had ended.
	for w, cs := range calls {
		for i, c := range cs {
			covered := false
			for _, r := range rounds {
				if r.start.After(c.called) && !r.end.After(c.returned) {
					covered = true
					break
				}
			}
			if !covered {
				t.Errorf("append %d of writer %d returned without an fsync begun after it", i, w)
			}
		}
	}
	n := syncs.Load()
	if n == 0 || n >= writers*each {
		t.Errorf("%d fsync rounds for %d appends: want shared rounds", n, writers*each)
	}
	t.Logf("%d appends, %d fsync rounds", writers*each, n)
}
