// Package checkpointtest is the test suite every checkpoint.Store (and
// checkpoint.Leaser) implementation must pass.
package checkpointtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
)

// Run checks a Store: missing checkpoints, saves and loads, compare-and-set
// with stale revisions, races between savers, bad names and offsets. open
// returns a fresh, empty store each time.
func Run(t *testing.T, open func(t *testing.T) checkpoint.Store) {
	ctx := context.Background()
	a := eventstore.Offset("00000000000000000007_999999")
	b := eventstore.Offset("00000000000000000042_000003")
	t.Run("missing", func(t *testing.T) {
		cp, err := open(t).Load(ctx, "nothing")
		if err != nil || cp.Offset != eventstore.Start || cp.Revision != 0 {
			t.Fatalf("missing checkpoint: %+v, %v; want (Start, 0)", cp, err)
		}
	})
	t.Run("save and load", func(t *testing.T) {
		s := open(t)
		r1, err := s.Save(ctx, "p", a, 0)
		if err != nil || r1 == 0 {
			t.Fatalf("first save: %d, %v", r1, err)
		}
		r2, err := s.Save(ctx, "p", b, r1)
		if err != nil || r2 <= r1 {
			t.Fatalf("second save: %d, %v (after %d)", r2, err, r1)
		}
		cp, err := s.Load(ctx, "p")
		if err != nil || cp.Offset != b || cp.Revision != r2 {
			t.Fatalf("load: %+v, %v; want (%s, %d)", cp, err, b, r2)
		}
		if cp, _ := s.Load(ctx, "other"); cp.Revision != 0 {
			t.Fatalf("another name sees %+v", cp)
		}
		if _, err := s.Save(ctx, "p", "-1", r2); err != nil {
			t.Fatalf("save of Start: %v", err)
		}
		if cp, _ := s.Load(ctx, "p"); cp.Offset != eventstore.Start {
			t.Fatalf(`"-1" saved as %q, want Start`, cp.Offset)
		}
	})
	t.Run("stale revision", func(t *testing.T) {
		s := open(t)
		r1, err := s.Save(ctx, "p", a, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, rev := range []uint64{0, r1 + 1, r1 + 100} {
			if _, err := s.Save(ctx, "p", b, rev); !errors.Is(err, checkpoint.ErrConflict) {
				t.Errorf("save with revision %d (stored %d): %v, want ErrConflict", rev, r1, err)
			}
		}
		if _, err := s.Save(ctx, "new", a, 5); !errors.Is(err, checkpoint.ErrConflict) {
			t.Errorf("save of a missing checkpoint with revision 5: %v, want ErrConflict", err)
		}
		if cp, _ := s.Load(ctx, "p"); cp.Offset != a || cp.Revision != r1 {
			t.Errorf("a refused save changed the checkpoint: %+v", cp)
		}
	})
	t.Run("one winner", func(t *testing.T) {
		s := open(t)
		const racers = 8
		for round := range 5 {
			cp, err := s.Load(ctx, "race")
			if err != nil {
				t.Fatal(err)
			}
			var wins sync.WaitGroup
			won := make(chan int, racers)
			for i := range racers {
				wins.Go(func() {
					o := eventstore.Offset(fmt.Sprintf("%020d_999999", round*racers+i+1))
					if _, err := s.Save(ctx, "race", o, cp.Revision); err == nil {
						won <- i
					} else if !errors.Is(err, checkpoint.ErrConflict) {
						t.Error(err)
					}
				})
			}
			wins.Wait()
			close(won)
			if n := len(won); n != 1 {
				t.Fatalf("round %d: %d savers won the same revision, want 1", round, n)
			}
		}
	})
	t.Run("bad input", func(t *testing.T) {
		s := open(t)
		if _, err := s.Save(ctx, "", a, 0); !errors.Is(err, checkpoint.ErrInvalidName) {
			t.Errorf("empty name: %v", err)
		}
		if _, err := s.Load(ctx, ""); !errors.Is(err, checkpoint.ErrInvalidName) {
			t.Errorf("load of an empty name: %v", err)
		}
		for _, o := range []eventstore.Offset{"", "now", "12", "00000000000000000001_000000"} {
			if _, err := s.Save(ctx, "p", o, 0); !errors.Is(err, eventstore.ErrInvalidOffset) {
				t.Errorf("save of offset %q: %v, want ErrInvalidOffset", o, err)
			}
		}
		if cp, _ := s.Load(ctx, "p"); cp.Revision != 0 {
			t.Errorf("a refused save stored %+v", cp)
		}
		odd := "projections/orders summary/ünïcode.v2"
		if _, err := s.Save(ctx, odd, a, 0); err != nil {
			t.Errorf("name %q: %v", odd, err)
		}
		if cp, _ := s.Load(ctx, odd); cp.Offset != a {
			t.Errorf("name %q loads %+v", odd, cp)
		}
	})
}

// RunLeaser checks a Leaser: one holder at a time, renewal, expiry and
// release. open returns a fresh, empty leaser each time.
func RunLeaser(t *testing.T, open func(t *testing.T) checkpoint.Leaser) {
	ctx := context.Background()
	t.Run("one holder", func(t *testing.T) {
		l := open(t)
		a, err := l.Acquire(ctx, "proj", "a", time.Minute)
		if err != nil || a.Holder != "a" {
			t.Fatalf("acquire: %+v, %v", a, err)
		}
		if _, err := l.Acquire(ctx, "proj", "b", time.Minute); !errors.Is(err, checkpoint.ErrConflict) {
			t.Fatalf("second holder: %v, want ErrConflict", err)
		}
		renewed, err := l.Acquire(ctx, "proj", "a", time.Minute)
		if err != nil || !renewed.Expires.After(a.Expires) && !renewed.Expires.Equal(a.Expires) {
			t.Fatalf("renew: %+v, %v", renewed, err)
		}
		if err := l.Release(ctx, renewed); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Acquire(ctx, "proj", "b", time.Minute); err != nil {
			t.Fatalf("after release: %v", err)
		}
	})
	t.Run("release is the holder's", func(t *testing.T) {
		// Release gives a lease up only if it is still the holder's, as
		// last renewed: a Lease value naming another holder, or this
		// holder at a revision it no longer has, leaves the lease held.
		l := open(t)
		first, err := l.Acquire(ctx, "proj", "owner", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		renewed, err := l.Acquire(ctx, "proj", "owner", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for what, rel := range map[string]checkpoint.Lease{
			"another holder, no revision":       {Name: "proj", Holder: "intruder"},
			"another holder, the revision":      {Name: "proj", Holder: "intruder", Revision: renewed.Revision},
			"the holder, no revision":           {Name: "proj", Holder: "owner"},
			"the holder, as before its renewal": first,
		} {
			if err := l.Release(ctx, rel); err != nil {
				t.Errorf("release by %s: %v", what, err)
			}
			var held *checkpoint.LeaseHeldError
			if _, err := l.Acquire(ctx, "proj", "third", time.Minute); !errors.Is(err, checkpoint.ErrConflict) ||
				errors.As(err, &held) && held.Holder != "owner" {
				t.Fatalf("after a release by %s (%+v), another holder's Acquire: %v; want the owner's lease kept", what, rel, err)
			}
		}
		if err := l.Release(ctx, renewed); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Acquire(ctx, "proj", "third", time.Minute); err != nil {
			t.Fatalf("after the holder released the lease as last renewed: %v", err)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		l := open(t)
		if _, err := l.Acquire(ctx, "proj", "a", 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		b, err := l.Acquire(ctx, "proj", "b", time.Minute)
		if err != nil || b.Holder != "b" {
			t.Fatalf("after expiry: %+v, %v", b, err)
		}
		if _, err := l.Acquire(ctx, "proj", "a", time.Minute); !errors.Is(err, checkpoint.ErrConflict) {
			t.Fatalf("the old holder took it back: %v", err)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		l := open(t)
		for what, try := range map[string]func() error{
			"zero ttl":     func() error { _, err := l.Acquire(ctx, "proj", "a", 0); return err },
			"negative ttl": func() error { _, err := l.Acquire(ctx, "proj", "a", -time.Second); return err },
			"empty holder": func() error { _, err := l.Acquire(ctx, "proj", "", time.Minute); return err },
		} {
			if err := try(); !errors.Is(err, eventstore.ErrInvalidOption) {
				t.Errorf("%s: %v, want ErrInvalidOption", what, err)
			}
		}
		// Nothing was taken: a holder gets the lease.
		if _, err := l.Acquire(ctx, "proj", "b", time.Minute); err != nil {
			t.Fatalf("after the refusals: %v", err)
		}
	})
	t.Run("race", func(t *testing.T) {
		l := open(t)
		var wg sync.WaitGroup
		won := make(chan string, 8)
		for i := range 8 {
			wg.Go(func() {
				h := fmt.Sprint("h", i)
				if _, err := l.Acquire(ctx, "raced", h, time.Minute); err == nil {
					won <- h
				}
			})
		}
		wg.Wait()
		close(won)
		if len(won) != 1 {
			t.Fatalf("%d holders acquired one lease", len(won))
		}
	})
}
