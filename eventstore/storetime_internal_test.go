package eventstore

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestReadNeedsNoLog: in a new process, reading a stream that was written
// through Append (its commits entered the index from the appends, not from
// the tailer) asks the log for nothing: every store time is in the index.
func TestReadNeedsNoLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				stream := "nolog/target"
				if i%2 == 1 {
					stream = "nolog/other"
				}
				if _, err := s.Append(ctx, stream, []Event{{Type: "T", Data: []byte{byte(w), byte(i)}}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Let the tailer's pass at open end (it finds nothing to apply).
	time.Sleep(50 * time.Millisecond)
	mustStart(t, s)
	before := s.rnc.Stats().InMsgs
	n := 0
	for e, err := range s.Read(ctx, "nolog/target") {
		if err != nil {
			t.Fatal(err)
		}
		if e.StoredAt.IsZero() {
			t.Fatalf("v%d without a store time", e.Version)
		}
		n++
	}
	if _, err := s.Head(ctx, "nolog/target"); err != nil {
		t.Fatal(err)
	}
	if got := s.rnc.Stats().InMsgs - before; got != 0 || n != 200 {
		t.Fatalf("read %d events and received %d messages from the log, want 200 and 0", n, got)
	}
}
