package eventstore

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// lineCounter counts log lines containing a substring.
type lineCounter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	match string
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *lineCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Count(c.buf.String(), c.match)
}

// TestRebuildOnceForDamage: when the index is damaged (a record that does
// not decode), the readers that find it share one rebuild from the log,
// and every one of them then reads the right events.
func TestRebuildOnceForDamage(t *testing.T) {
	ctx := context.Background()
	logs := &lineCounter{match: "read index rebuilt"}
	s, err := Open(ctx, t.TempDir(), WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const readers = 8
	for i := range readers {
		for v := range 20 {
			if _, err := s.Append(ctx, fmt.Sprintf("dmg/%d", i), []Event{{Type: "T", Data: []byte(fmt.Sprint(v))}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	x, err := s.acquire(ctx, s.lastAcked.Load())
	if err != nil {
		t.Fatal(err)
	}
	for i := range readers {
		// Damage version 10 of every stream in the index (not in the log).
		if err := x.db.Set(commitKey(fmt.Sprintf("dmg/%d", i), 10), []byte("damaged"), pebble.NoSync); err != nil {
			s.release(x)
			t.Fatal(err)
		}
	}
	gen := x.gen
	s.release(x)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range readers {
		wg.Go(func() {
			<-start
			n := 0
			for e, err := range s.Read(ctx, fmt.Sprintf("dmg/%d", i)) {
				if err != nil {
					t.Errorf("reader %d: %v", i, err)
					return
				}
				if string(e.Data) != fmt.Sprint(n) {
					t.Errorf("reader %d: event %d holds %s", i, n, e.Data)
				}
				n++
			}
			if n != 20 {
				t.Errorf("reader %d: %d events, want 20", i, n)
			}
		})
	}
	close(start)
	wg.Wait()
	s.idxMu.Lock()
	newGen := s.idx.gen
	s.idxMu.Unlock()
	if newGen != gen+1 || logs.count() != 1 {
		t.Fatalf("index generation %d → %d, %d rebuilds logged; want one rebuild", gen, newGen, logs.count())
	}
}

// TestNoRebuildWithoutDamage: a read that fails for another reason than a
// damaged index (here its context ends while it waits for the index) does
// not rebuild the index.
func TestNoRebuildWithoutDamage(t *testing.T) {
	ctx := context.Background()
	logs := &lineCounter{match: "rebuild"}
	s, err := Open(ctx, t.TempDir(), WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, "calm/1", []Event{{Type: "T"}}); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{context.Canceled, ErrClosed, ErrIndexStalled, fmt.Errorf("eventstore: read the log: %w", context.DeadlineExceeded)} {
		if s.rebuildAfter(ctx, 1, err) {
			t.Errorf("rebuildAfter(%v) rebuilt", err)
		}
	}
	if logs.count() != 0 {
		t.Fatalf("the store logged a rebuild: %s", logs.buf.String())
	}
}
