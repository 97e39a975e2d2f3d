package eventstore

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestCommandIDAfterReindex: a command stored while Reindex builds the new
// index reaches that index only through its tailer. Until it does, an
// append of the same command id must wait for it rather than take the new
// index's word that the id was never recorded. The tailer is held back
// here, so that the window is wide open.
func TestCommandIDAfterReindex(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), WithHeadCache(1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 20 {
		if _, err := s.Append(ctx, "pre/1", []Event{{Type: "T", Data: []byte{byte(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	var hold atomic.Uint64 // the tailer waits before messages above this, while set
	release := make(chan struct{})
	hook := func(seq uint64) {
		if h := hold.Load(); h != 0 && seq > h {
			// The old index's tailer may meet these messages too, on its
			// last turn before Reindex stops it, and Reindex waits for it:
			// it is let go after a while, the new one when release closes.
			select {
			case <-release:
			case <-time.After(time.Second):
			}
		}
	}
	s.tailHook.Store(&hook)
	var first AppendResult
	done := false
	err = s.Reindex(ctx, func(applied, total uint64) {
		if applied < total || done {
			return
		}
		done = true
		hold.Store(total)
		var err error
		if first, err = s.Append(ctx, "cmd/s", []Event{{Type: "T"}}, WithCommandID("X")); err != nil {
			t.Error(err)
		}
		if _, err := s.Append(ctx, "other/t", []Event{{Type: "T"}}); err != nil { // evicts cmd/s
			t.Error(err)
		}
		if _, err := s.Append(ctx, "cmd/s", []Event{{Type: "T"}}, WithCommandID("Y")); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(300*time.Millisecond, func() { close(release) })
	again, err := s.Append(ctx, "cmd/s", []Event{{Type: "T"}}, WithCommandID("X"))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Version != first.Version {
		t.Fatalf("command X after the rebuild: %+v; want the duplicate of %+v", again, first)
	}
	if h, err := s.Head(ctx, "cmd/s"); err != nil || h.Version != 2 {
		t.Fatalf("head %+v, %v; want version 2", h, err)
	}
}
