package eventstore

import (
	"context"
	"testing"
	"time"
)

// Close closes the read index before it shuts the embedded server down (the
// server's shutdown writes its own index of the log, a large buffer with
// many streams, better not on top of the index's memtables), and writes the
// clean-close mark only once the server has stopped.
func TestCloseIndexBeforeServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 10 {
		if _, err := s.Append(ctx, "close/order", []Event{{Type: "T", Data: []byte{byte(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		called, indexOpen, marked bool
	)
	hook := func() {
		called = true
		s.idxMu.Lock()
		x := s.idx
		s.idxMu.Unlock()
		x.mu.Lock()
		indexOpen = x.db != nil
		x.mu.Unlock()
		_, marked = readCleanMark(s.indexDir)
	}
	s.stopHook.Store(&hook)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	switch {
	case !called:
		t.Fatal("Close did not shut a server down")
	case indexOpen:
		t.Error("the index was still open when the server began shutting down")
	case marked:
		t.Error("the clean-close mark was written before the server shut down")
	}
	if _, ok := readCleanMark(s.indexDir); !ok {
		t.Error("no clean-close mark after Close")
	}
}
