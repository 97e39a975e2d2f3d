package projection_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/projection"
)

// TestOptionBounds: a BatchSize or LeaseTTL outside its documented bounds
// is refused with ErrInvalidOption by every entry point that takes a
// Projection, before anything runs (a LeaseTTL of 2 ns made a renewal
// ticker of 0 and a BatchSize of 1<<62 a channel that size: both panicked
// in the runner's goroutine and killed the process). The bounds
// themselves are taken.
func TestOptionBounds(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "ob/1", 3)
	r := projection.NewRunner(s, nil)
	defer r.Close()
	mk := func(name string, batch int, ttl time.Duration) projection.Projection {
		cps := &checkpoint.Memory{}
		return projection.Projection{Name: name, Source: projection.Category("ob"), BatchSize: batch, Lease: cps, LeaseTTL: ttl,
			Sink: projection.AtLeastOnce(name, &memModel{}, cps)}
	}
	for i, c := range []struct {
		batch int
		ttl   time.Duration
	}{
		{-1, 0}, {projection.MaxBatchSize + 1, 0}, {1 << 62, 0},
		{0, -time.Second}, {0, 2}, {0, projection.MinLeaseTTL - 1},
	} {
		name := fmt.Sprint("bad", i)
		entries := map[string]func(projection.Projection) error{
			"Start":   func(p projection.Projection) error { return r.Start(ctx, p) },
			"Replay":  func(p projection.Projection) error { return projection.Replay(ctx, s, p, nil) },
			"Rebuild": func(p projection.Projection) error { return projection.Rebuild(ctx, r, p, nil) },
		}
		for entry, call := range entries {
			if err := call(mk(name, c.batch, c.ttl)); !errors.Is(err, eventstore.ErrInvalidOption) {
				t.Errorf("%s with BatchSize %d, LeaseTTL %v: %v, want ErrInvalidOption", entry, c.batch, c.ttl, err)
			}
			if _, ok := r.Status(name); ok {
				t.Fatalf("%s with BatchSize %d, LeaseTTL %v: the projection runs", entry, c.batch, c.ttl)
			}
		}
	}
	if err := r.Start(ctx, mk("bounds", projection.MaxBatchSize, projection.MinLeaseTTL)); err != nil {
		t.Fatalf("BatchSize MaxBatchSize, LeaseTTL MinLeaseTTL: %v", err)
	}
	if err := r.WaitCaughtUp(ctx, "bounds"); err != nil {
		t.Fatal(err)
	}
}

// TestBatchSizeHoldsWhatIsRead: BatchSize bounds what a projection holds,
// it does not reserve it: with three events to read, a projection of
// MaxBatchSize allocates about what one of 1 does (the read-ahead used to
// be a channel of BatchSize events, 1.7 MB at MaxBatchSize, made up front).
func TestBatchSizeHoldsWhatIsRead(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "held/1", 3)
	run := func(name string, batch int) uint64 {
		r := projection.NewRunner(s, nil)
		defer r.Close()
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		if err := r.Start(ctx, projection.Projection{Name: name, Source: projection.Category("held"), BatchSize: batch,
			Sink: projection.AtLeastOnce(name, &memModel{}, &checkpoint.Memory{})}); err != nil {
			t.Fatal(err)
		}
		if err := r.WaitCaughtUp(ctx, name); err != nil {
			t.Fatal(err)
		}
		r.Stop(name)
		runtime.ReadMemStats(&m1)
		return m1.TotalAlloc - m0.TotalAlloc
	}
	run("warm", 1) // the store's first reads allocate what later ones reuse
	small := run("small", 1)
	large := run("large", projection.MaxBatchSize)
	t.Logf("allocated %d KiB with BatchSize 1, %d KiB with %d", small>>10, large>>10, projection.MaxBatchSize)
	if large > small+512<<10 {
		t.Fatalf("BatchSize %d allocated %d KiB for 3 events, %d KiB more than BatchSize 1", projection.MaxBatchSize, large>>10, (large-small)>>10)
	}
}

// TestEmptyTypeIsRefused: Types holding "" (a blank entry of a
// configuration) is refused by every entry point: no event has an empty
// type, so the projection would take nothing and say nothing.
func TestEmptyTypeIsRefused(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "et/1", 1)
	r := projection.NewRunner(s, nil)
	defer r.Close()
	p := projection.Projection{Name: "blank", Source: projection.Category("et"), Types: []string{"Counted", ""},
		Sink: projection.AtLeastOnce("blank", &memModel{}, &checkpoint.Memory{})}
	if err := r.Start(ctx, p); !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Errorf("Start: %v, want ErrInvalidOption", err)
	}
	if err := projection.Replay(ctx, s, p, nil); !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Errorf("Replay: %v, want ErrInvalidOption", err)
	}
	if err := projection.Rebuild(ctx, r, p, nil); !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Errorf("Rebuild: %v, want ErrInvalidOption", err)
	}
}
