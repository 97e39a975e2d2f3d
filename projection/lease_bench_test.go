package projection_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/projection"
)

// dyingLeaser passes calls to a real Leaser until the holder's first
// renewal, then fails every call, as a process killed right after renewing
// would: it renews no more and releases nothing.
type dyingLeaser struct {
	checkpoint.Leaser
	mu     sync.Mutex
	calls  int
	diedAt time.Time
	died   chan struct{}
}

func (d *dyingLeaser) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (checkpoint.Lease, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.diedAt.IsZero() {
		return checkpoint.Lease{}, errors.New("dead")
	}
	l, err := d.Leaser.Acquire(ctx, name, holder, ttl)
	if err != nil {
		return l, err
	}
	if d.calls++; d.calls == 2 { // the first renewal
		d.diedAt = time.Now()
		close(d.died)
	}
	return l, nil
}

func (d *dyingLeaser) Release(ctx context.Context, l checkpoint.Lease) error { return nil }

// standbyLeaser records when its holder got the lease; periodic hides when
// the lease lapses (a plain ErrConflict), which makes the standby retry
// every third of a lease, as it did before it was told.
type standbyLeaser struct {
	checkpoint.Leaser
	periodic bool
	got      chan [2]time.Time // when the successful Acquire was called, and when it returned
}

func (s *standbyLeaser) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (checkpoint.Lease, error) {
	called := time.Now()
	l, err := s.Leaser.Acquire(ctx, name, holder, ttl)
	if err != nil && s.periodic {
		return l, checkpoint.ErrConflict
	}
	if err == nil {
		select {
		case s.got <- [2]time.Time{called, time.Now()}:
		default:
		}
	}
	return l, err
}

// BenchmarkLeaseTakeover measures the worst case of a takeover: the leader
// is killed right after renewing its lease (LeaseTTL 1 s), and a standby
// takes over. It reports how long after that renewal the standby got the
// lease, beyond the lease's length (ms-over-ttl/op, the mean, and
// ms-over-ttl-max; ms-asked-over-ttl-max: when it called the Acquire that
// got it, which leaves out that call's own time), for the KV and SQL leasers, with the standby trying
// again when the lease lapses ("at-lapse") and, as the baseline, every
// third of a lease ("periodic", as before). The standby starts at a random
// moment of the leader's renewal period.
func BenchmarkLeaseTakeover(b *testing.B) {
	ctx := context.Background()
	s := openStore(b)
	kv, err := checkpoint.NewKV(ctx, s, "")
	if err != nil {
		b.Fatal(err)
	}
	leasers := map[string]checkpoint.Leaser{"kv": kv, "sql": openSQLCheckpoints(b)}
	const ttl = time.Second
	n := 0
	for _, kind := range []string{"kv", "sql"} {
		for _, mode := range []string{"at-lapse", "periodic"} {
			b.Run(kind+"/"+mode, func(b *testing.B) {
				var over, woke []float64
				for range b.N {
					n++
					name := fmt.Sprintf("takeover-%d", n)
					leader := &dyingLeaser{Leaser: leasers[kind], died: make(chan struct{})}
					standby := &standbyLeaser{Leaser: leasers[kind], periodic: mode == "periodic", got: make(chan [2]time.Time, 1)}
					p := projection.Projection{Name: name, Source: projection.Category("takeover"), LeaseTTL: ttl,
						Sink: projection.AtLeastOnce(name, &memModel{}, &checkpoint.Memory{})}
					quiet := slog.New(slog.DiscardHandler)
					a, c := projection.NewRunner(s, quiet), projection.NewRunner(s, quiet)
					p.Lease = leader
					if err := a.Start(ctx, p); err != nil {
						b.Fatal(err)
					}
					if err := a.WaitCaughtUp(ctx, name); err != nil {
						b.Fatal(err)
					}
					// The standby starts at a random moment of the
					// leader's renewal period, as it would in a deployment.
					time.Sleep(rand.N(ttl / 3))
					p.Lease = standby
					if err := c.Start(ctx, p); err != nil {
						b.Fatal(err)
					}
					<-leader.died
					got := <-standby.got
					over = append(over, float64(got[1].Sub(leader.diedAt)-ttl)/1e6)
					woke = append(woke, float64(got[0].Sub(leader.diedAt)-ttl)/1e6)
					a.Close()
					c.Close()
				}
				var sum float64
				for _, o := range over {
					sum += o
				}
				b.ReportMetric(sum/float64(len(over)), "ms-over-ttl/op")
				b.ReportMetric(slices.Max(over), "ms-over-ttl-max")
				b.ReportMetric(slices.Max(woke), "ms-asked-over-ttl-max")
			})
		}
	}
}
