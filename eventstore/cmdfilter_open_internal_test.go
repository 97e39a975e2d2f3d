package eventstore

import (
	"context"
	"testing"
	"time"
)

// TestMarkedOpenDefersCommandFilter: a store opened behind a clean-close
// mark neither allocates nor loads its command filter before the start of
// its server (a new process reading one stream would spend its first
// garbage collection on the filter's 2 MiB), and once the server is up the
// filter holds the ids recorded before the close: a command id appended
// again is a duplicate, a new one is appended.
func TestMarkedOpenDefersCommandFilter(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	ev := []Event{{Type: "Placed", Data: []byte(`{}`)}}
	if _, err := s.Append(ctx, "orders/1", ev, WithCommandID("place-1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, dir, WithStartDelay(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if p := s.idx.filter.bits.Load(); p != nil || s.idx.filter.ready.Load() {
		t.Fatal("the command filter was allocated or loaded before the server's start")
	}
	n := 0
	for _, err := range s.Read(ctx, "orders/1") { // the read's end cues the start
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("read %d events, want 1", n)
	}
	if err := s.Started(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !s.idx.filter.ready.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the command filter was not loaded within 30 s of the start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !s.idx.filter.mayHold("orders/1", "place-1") {
		t.Fatal("the loaded filter says place-1 was never recorded")
	}
	res, err := s.Append(ctx, "orders/1", ev, WithCommandID("place-1"))
	if err != nil || !res.Duplicate || res.Version != 1 {
		t.Fatalf("place-1 again: %+v, %v; want the duplicate of version 1", res, err)
	}
	res, err = s.Append(ctx, "orders/1", ev, WithCommandID("place-2"))
	if err != nil || res.Duplicate || res.Version != 2 {
		t.Fatalf("place-2: %+v, %v; want version 2 appended", res, err)
	}
}
