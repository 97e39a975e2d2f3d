package eventstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// TestStorageFull: past the embedded server's storage limit an append
// fails at once with ErrStorageFull (not after ten seconds of retries, as
// ErrUnavailable), Ready says why, nothing acknowledged is lost, the store
// closes, and reopened with a higher limit it takes appends again.
func TestStorageFull(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := eventstore.Open(ctx, dir, eventstore.WithStorageLimit(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 32<<10)
	stored := 0
	var full error
	for range 100 {
		rand.Read(data) // incompressible
		began := time.Now()
		_, err := s.Append(ctx, "full/a", []eventstore.Event{{Type: "blob", Data: data}})
		if err != nil {
			if took := time.Since(began); took > 5*time.Second {
				t.Errorf("the refused append took %v: it was retried as if transient", took)
			}
			full = err
			break
		}
		stored++
	}
	if !errors.Is(full, eventstore.ErrStorageFull) || errors.Is(full, eventstore.ErrUnavailable) {
		t.Fatalf("after %d appends: %v, want ErrStorageFull", stored, full)
	}
	if stored < 10 {
		t.Fatalf("only %d appends of 32 KiB fit in 1 MiB", stored)
	}
	// A small append, a close: refused too, nothing stored.
	_, err = s.Append(ctx, "full/b", []eventstore.Event{{Type: "x", Data: []byte(`{}`)}})
	if !errors.Is(err, eventstore.ErrStorageFull) {
		t.Errorf("a small append: %v, want ErrStorageFull", err)
	}
	if err := s.Ready(ctx, 1000); !errors.Is(err, eventstore.ErrStorageFull) {
		t.Errorf("Ready = %v, want ErrStorageFull", err)
	}
	if _, err := s.SetMetadata(ctx, "full/a", map[string]string{"k": "v"}, 0); !errors.Is(err, eventstore.ErrStorageFull) {
		t.Errorf("SetMetadata: %v, want ErrStorageFull", err)
	}
	if err := s.SaveSnapshot(ctx, eventstore.Snapshot{Stream: "full/a", Version: 1, Data: []byte(`{}`)}); !errors.Is(err, eventstore.ErrStorageFull) {
		t.Errorf("SaveSnapshot: %v, want ErrStorageFull", err)
	}
	// A producer stops with it too, rather than resend the commit until
	// its ctx ends as if the outcome were unknown.
	p, err := s.Producer(ctx, "full/c", "p")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Append(ctx, eventstore.Event{Type: "x", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.Flush(fctx); !errors.Is(err, eventstore.ErrStorageFull) || errors.Is(err, eventstore.ErrUnavailable) {
		t.Errorf("a producer's Flush: %v, want ErrStorageFull", err)
	}
	p.Close(fctx)
	n := 0
	for _, err := range s.Read(ctx, "full/a") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != stored {
		t.Errorf("%d events read, %d acknowledged", n, stored)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return")
	}

	s, err = eventstore.Open(ctx, dir, eventstore.WithStorageLimit(8<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ready(ctx, 1000); err != nil {
		t.Errorf("Ready with a higher limit: %v", err)
	}
	res, err := s.Append(ctx, "full/a", []eventstore.Event{{Type: "blob", Data: data}})
	if err != nil {
		t.Fatalf("an append with a higher limit: %v", err)
	}
	if res.Version != uint64(stored+1) {
		t.Errorf("version %d after %d stored, want %d", res.Version, stored, stored+1)
	}
}

func TestWithStorageLimitRefusesTooSmall(t *testing.T) {
	_, err := eventstore.Open(context.Background(), t.TempDir(), eventstore.WithStorageLimit(1000))
	if !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Errorf("Open with a 1000-byte limit: %v, want ErrInvalidOption", err)
	}
}
