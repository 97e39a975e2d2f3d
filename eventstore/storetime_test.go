package eventstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// TestStoredAtRecorded: an event's StoredAt is the committing store's
// clock, recorded in the commit: the AppendResult, Read (from the index),
// ReadAll (from the index's log-ordered copy), ReadLog (from the log) and a
// new process all give the same instant.
func TestStoredAtRecorded(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := &fakeClock{t: time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC)}
	s, err := eventstore.Open(ctx, dir, eventstore.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	var results []eventstore.AppendResult
	for i := range 4 {
		res, err := s.Append(ctx, "times/1", evs(2, i*2))
		if err != nil {
			t.Fatal(err)
		}
		if !res.StoredAt.Equal(clock.now()) {
			t.Errorf("append %d stored at %v, want the store's clock %v", i, res.StoredAt, clock.now())
		}
		results = append(results, res)
		clock.set(clock.now().Add(time.Hour))
	}
	check := func(what string, got []eventstore.Event) {
		t.Helper()
		if len(got) != 8 {
			t.Fatalf("%s: %d events, want 8", what, len(got))
		}
		for i, e := range got {
			if want := results[i/2].StoredAt; !e.StoredAt.Equal(want) {
				t.Errorf("%s: event %d stored at %v, want %v", what, i, e.StoredAt, want)
			}
		}
	}
	check("Read", collect(t, s.Read(ctx, "times/1")))
	check("ReadAll", collect(t, s.ReadAll(ctx)))
	check("ReadLog", collect(t, eventstore.ReadLog(ctx, s)))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, _ = openStoreAt(t, dir)
	check("Read in a new process", collect(t, s.Read(ctx, "times/1")))
	check("ReadAll in a new process", collect(t, s.ReadAll(ctx)))
	h, err := s.Head(ctx, "times/1")
	if err != nil || !h.StoredAt.Equal(results[3].StoredAt) {
		t.Errorf("head %+v, %v; want stored at %v", h, err, results[3].StoredAt)
	}
	// ToTime cuts by the recorded times, on the index and on the log.
	cut := results[1].StoredAt.Add(time.Minute)
	if got := collect(t, s.Read(ctx, "times/1", eventstore.ToTime(cut))); len(got) != 4 {
		t.Errorf("Read ToTime(%v): %d events, want 4", cut, len(got))
	}
	if got := collect(t, s.ReadAll(ctx, eventstore.ToTime(cut))); len(got) != 4 {
		t.Errorf("ReadAll ToTime(%v): %d events, want 4", cut, len(got))
	}
	if got := collect(t, eventstore.ReadLog(ctx, s, eventstore.ToTime(cut))); len(got) != 4 {
		t.Errorf("ReadLog ToTime(%v): %d events, want 4", cut, len(got))
	}
}

// TestStoredAtNeverGoesBack: a clock that steps back (while the store is
// open, or between two opens) never makes store times go backwards, within
// a stream or in log order.
func TestStoredAtNeverGoesBack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := &fakeClock{t: start}
	s, err := eventstore.Open(ctx, dir, eventstore.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	steps := []time.Duration{0, time.Second, -time.Hour, 2 * time.Second, -time.Minute}
	var wg sync.WaitGroup
	for i, d := range steps {
		clock.set(start.Add(d))
		for _, stream := range []string{"back/a", "back/b"} {
			wg.Go(func() {
				if _, err := s.Append(ctx, stream, evs(1, i)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	clock.set(start.Add(-24 * time.Hour)) // behind everything stored
	s, _ = openStoreAt(t, dir, eventstore.WithClock(clock.now))
	if _, err := s.Append(ctx, "back/c", evs(1, 0)); err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for _, e := range collect(t, s.ReadAll(ctx)) {
		if e.StoredAt.Before(last) {
			t.Errorf("%s v%d stored at %v, before the previous event in the log (%v)", e.Stream, e.Version, e.StoredAt, last)
		}
		last = e.StoredAt
	}
	if want := start.Add(2 * time.Second); !last.Equal(want) {
		t.Errorf("last store time %v, want %v (the newest in the log, not the clock's %v)", last, want, clock.now())
	}
	for _, stream := range []string{"back/a", "back/b"} {
		var prev time.Time
		for _, e := range collect(t, s.Read(ctx, stream)) {
			if e.StoredAt.Before(prev) {
				t.Errorf("%s v%d stored at %v, before v%d (%v)", stream, e.Version, e.StoredAt, e.Version-1, prev)
			}
			prev = e.StoredAt
		}
	}
}

// TestWithClockInvalid: a nil clock is an invalid option.
func TestWithClockInvalid(t *testing.T) {
	if _, err := eventstore.Open(context.Background(), t.TempDir(), eventstore.WithClock(nil)); err == nil {
		t.Fatal("Open with a nil clock: no error")
	}
}

// TestWithClockOutOfRange: a clock reading before 1970 stamps the first
// store time there is, as one before the Unix epoch always did, and
// not what its UnixNano overflowed to (1600 was stamped 2184, and since
// store times never go back, every later commit with it).
func TestWithClockOutOfRange(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)}
	s, _ := openStore(t, eventstore.WithClock(clock.now))
	first, err := s.Append(ctx, "clock/1", evs(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(0, 1); !first.StoredAt.Equal(want) {
		t.Errorf("stamped %v with a clock in 1600, want %v", first.StoredAt, want)
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock.set(now)
	second, err := s.Append(ctx, "clock/1", evs(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !second.StoredAt.Equal(now) {
		t.Errorf("stamped %v once the clock reads %v", second.StoredAt, now)
	}
}
