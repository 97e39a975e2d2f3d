package checkpoint

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// TestKVAcquireDecidesAgain: a lease write refused because the lease
// moved on between Acquire's read and its write is decided again on a
// new read, instead of failing as "taken meanwhile". Here the lease moves
// on to a holder whose lease has lapsed by the time it is read again (on
// a cluster, the same refusal follows a read answered by a replica that
// lagged its leader, which TestKVClusterFailover met); a lease still held
// by another is a LeaseHeldError, as before.
//
// On the code that decided once, the first Acquire fails with ErrConflict.
func TestKVAcquireDecidesAgain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, err := eventstore.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	k, err := NewKV(ctx, store, "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewKV(ctx, store, "")
	if err != nil {
		t.Fatal(err)
	}

	// a's lease lapses; b reads it, and before b writes, c takes the
	// lapsed lease for a millisecond.
	if _, err := k.Acquire(ctx, "proj", "a", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	puts := 0
	k.beforePut = func() {
		puts++
		if puts != 1 {
			return
		}
		if _, err := other.Acquire(ctx, "proj", "c", time.Millisecond); err != nil {
			t.Errorf("c's acquire: %v", err)
		}
		time.Sleep(5 * time.Millisecond) // c's lease lapses too
	}
	l, err := k.Acquire(ctx, "proj", "b", time.Minute)
	if err != nil {
		t.Fatalf("b's acquire after c took the lapsed lease meanwhile: %v", err)
	}
	if puts != 2 || l.Holder != "b" {
		t.Fatalf("b's acquire: %+v after %d writes, want b's lease after 2", l, puts)
	}

	// Taken meanwhile by a holder that keeps it: a LeaseHeldError naming it.
	if err := k.Release(ctx, l); err != nil {
		t.Fatal(err)
	}
	puts = 0
	k.beforePut = func() {
		puts++
		if puts != 1 {
			return
		}
		if _, err := other.Acquire(ctx, "proj", "d", time.Minute); err != nil {
			t.Errorf("d's acquire: %v", err)
		}
	}
	_, err = k.Acquire(ctx, "proj", "b", time.Minute)
	var he *LeaseHeldError
	if !errors.Is(err, ErrConflict) || !errors.As(err, &he) || he.Holder != "d" {
		t.Fatalf("b's acquire after d took the lease meanwhile: %v, want a LeaseHeldError naming d", err)
	}
	if puts != 1 {
		t.Fatalf("b's acquire wrote %d times, want 1 (the lease is d's)", puts)
	}
}
