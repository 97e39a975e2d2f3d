package projection_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/projection"
)

// heldLeaser is a Leaser whose lease another holder keeps until a fixed
// time, then grants; it records when it was asked.
type heldLeaser struct {
	until time.Time
	mu    sync.Mutex
	asked []time.Time
}

func (h *heldLeaser) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (checkpoint.Lease, error) {
	now := time.Now()
	h.mu.Lock()
	h.asked = append(h.asked, now)
	h.mu.Unlock()
	if now.Before(h.until) {
		return checkpoint.Lease{}, &checkpoint.LeaseHeldError{Name: name, Holder: "dead", Expires: h.until}
	}
	return checkpoint.Lease{Name: name, Holder: holder, Expires: now.Add(ttl), Revision: 1}, nil
}

func (h *heldLeaser) Release(ctx context.Context, l checkpoint.Lease) error { return nil }

// TestStandbyTakesOverAtLapse: a standby told when the holder's lease
// lapses tries again at that moment, not at its next periodic retry: with
// a lease of 9 s (periodic retries every 3 s) held by a dead holder for
// one more second, the standby takes over after that second, having asked
// twice (the periodic retry would take 3 s).
func TestStandbyTakesOverAtLapse(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "held/1", 5)
	began := time.Now()
	leaser := &heldLeaser{until: began.Add(time.Second)}
	r := projection.NewRunner(s, nil)
	defer r.Close()
	if err := r.Start(ctx, projection.Projection{Name: "held", Source: projection.Category("held"), Lease: leaser,
		LeaseTTL: 9 * time.Second, Sink: projection.AtLeastOnce("held", &memModel{}, &checkpoint.Memory{})}); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitCaughtUp(ctx, "held"); err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	leaser.mu.Lock()
	asked := leaser.asked
	leaser.mu.Unlock()
	if len(asked) != 2 || asked[1].Before(leaser.until) {
		t.Fatalf("asked for the lease at %v; want once, then once just after it lapsed at %v", asked, leaser.until)
	}
	if took >= 2500*time.Millisecond { // the periodic retry would be at 3 s
		t.Fatalf("took over after %v; the lease lapsed after 1 s", took)
	}
}

// TestLeaseReleasedAfterRenewals: a projection stopped after it renewed
// its lease gives it up, so the next holder takes it at once rather than
// after it lapses. The lease lasts 3 s and is renewed every second; the
// projection runs 1.5 s, and another holder asks right after Stop, with
// more than a second of the last renewal left.
func TestLeaseReleasedAfterRenewals(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "renewed/1", 3)
	kv, err := checkpoint.NewKV(ctx, s, "")
	if err != nil {
		t.Fatal(err)
	}
	for kind, leaser := range map[string]checkpoint.Leaser{"memory": &checkpoint.Memory{}, "kv": kv} {
		t.Run(kind, func(t *testing.T) {
			r := projection.NewRunner(s, nil)
			defer r.Close()
			if err := r.Start(ctx, projection.Projection{Name: "renewed", Source: projection.Category("renewed"), Lease: leaser,
				LeaseTTL: 3 * time.Second, Sink: projection.AtLeastOnce("renewed", &memModel{}, &checkpoint.Memory{})}); err != nil {
				t.Fatal(err)
			}
			if err := r.WaitCaughtUp(ctx, "renewed"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1500 * time.Millisecond)
			r.Stop("renewed")
			if _, err := leaser.Acquire(ctx, "renewed", "next", time.Minute); err != nil {
				t.Fatalf("the lease of a stopped projection is still held: %v", err)
			}
		})
	}
}
