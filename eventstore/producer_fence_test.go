package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/rewindhq/rewind/eventstore"
)

// producedData returns the data of a stream's events, in order.
func producedData(t *testing.T, s *eventstore.Store, stream string) []string {
	t.Helper()
	var out []string
	for _, e := range collect(t, s.Read(context.Background(), stream)) {
		out = append(out, string(e.Data))
	}
	return out
}

// TestProducerRestartStoresEverything: a Producer made with the default
// options after another instance of the same producer has written (a
// restart: a new store on the same directory, or a second instance in the
// same process) stores every one of its appends. It claims the next epoch,
// so it fences the earlier instance, and never takes its own first appends
// for duplicates of the earlier instance's numbers.
func TestProducerRestartStoresEverything(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const stream = "restart/1"
	var want []string
	for round := range 3 {
		s, err := eventstore.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Producer(ctx, stream, "p")
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			d := fmt.Sprintf(`"r%d-%d"`, round, i)
			want = append(want, d)
			if _, err := p.Append(ctx, ev("E", d)); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Close(ctx); err != nil {
			t.Fatalf("round %d: close: %v", round, err)
		}
		if epoch, next := p.Acked(); epoch != uint64(round) || next != 5 {
			t.Errorf("round %d: producer at epoch %d, next seq %d; want epoch %d, next 5", round, epoch, next, round)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s, _ := openStoreAt(t, dir)
	if got := producedData(t, s, stream); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stream holds %v, want %v", got, want)
	}
}

// TestProducerSecondInstanceFences: a second instance in the same process
// fences the first; the first's next write fails with ErrStaleEpoch and
// nothing of either is lost.
func TestProducerSecondInstanceFences(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	const stream = "fence/second"
	first, err := s.Producer(ctx, stream, "p")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Append(ctx, ev("E", `"a0"`)); err != nil {
		t.Fatal(err)
	}
	if err := first.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	second, err := s.Producer(ctx, stream, "p")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{`"b0"`, `"b1"`} {
		if _, err := second.Append(ctx, ev("E", d)); err != nil {
			t.Fatal(err)
		}
	}
	if err := second.Close(ctx); err != nil {
		t.Fatalf("second instance: %v", err)
	}
	_, _ = first.Append(ctx, ev("E", `"a1"`))
	if err := first.Close(ctx); !errors.Is(err, eventstore.ErrStaleEpoch) {
		t.Fatalf("first instance after the second wrote: %v, want ErrStaleEpoch", err)
	}
	if got, want := fmt.Sprint(producedData(t, s, stream)), `["a0" "b0" "b1"]`; got != want {
		t.Fatalf("stream holds %s, want %s", got, want)
	}
}

// TestProducerSameEpochRace: two instances that claim the same epoch at
// once (both read the stored state before either wrote) never lose an
// event silently: the one that writes second fails with ErrStaleEpoch, and
// with WithAutoClaim claims a newer epoch and stores its events.
func TestProducerSameEpochRace(t *testing.T) {
	ctx := context.Background()
	for _, auto := range []bool{false, true} {
		t.Run(fmt.Sprintf("autoclaim=%v", auto), func(t *testing.T) {
			s, _ := openStore(t)
			stream := fmt.Sprintf("race/%v", auto)
			var opts []eventstore.ProducerOption
			if auto {
				opts = append(opts, eventstore.WithAutoClaim())
			}
			a, err := s.Producer(ctx, stream, "p", opts...)
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.Producer(ctx, stream, "p", opts...) // the same epoch: nothing stored yet
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Append(ctx, ev("E", `"a"`)); err != nil {
				t.Fatal(err)
			}
			if err := a.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Append(ctx, ev("E", `"b"`)); err != nil {
				t.Fatal(err)
			}
			errB := b.Close(ctx)
			errA := a.Close(ctx)
			got := fmt.Sprint(producedData(t, s, stream))
			if auto {
				if errB != nil || got != `["a" "b"]` {
					t.Fatalf("with auto claim: second instance %v, stream %s; want nil and both events", errB, got)
				}
				return
			}
			if !errors.Is(errB, eventstore.ErrStaleEpoch) {
				t.Fatalf("second instance on a taken epoch: %v, want ErrStaleEpoch", errB)
			}
			if errA != nil || got != `["a"]` {
				t.Fatalf("first instance %v, stream %s; want nil and its event", errA, got)
			}
		})
	}
}

// TestProducerResumeIsExplicit: WithResume resends an earlier instance's
// numbers after a crash; what was stored comes back as duplicates, the rest
// is stored, and nothing twice.
func TestProducerResumeIsExplicit(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	const stream = "resume/explicit"
	p, err := s.Producer(ctx, stream, "p")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := p.Append(ctx, ev("E", fmt.Sprintf(`"%d"`, i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	epoch, _ := p.Acked()
	var dups []bool
	var mu sync.Mutex
	r, err := s.Producer(ctx, stream, "p", eventstore.WithResume(epoch, 1), eventstore.WithMaxBatch(1),
		eventstore.WithOnAck(func(a eventstore.ProducerAck) {
			mu.Lock()
			dups = append(dups, a.Duplicate)
			mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 5; i++ {
		if _, err := r.Append(ctx, ev("E", fmt.Sprintf(`"%d"`, i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(producedData(t, s, stream)), `["0" "1" "2" "3" "4"]`; got != want {
		t.Fatalf("stream holds %s, want %s", got, want)
	}
	if fmt.Sprint(dups) != "[true true false false]" {
		t.Errorf("acks' duplicate flags %v, want [true true false false]", dups)
	}
}

// openStoreAt opens a store on dir and closes it with the test.
func openStoreAt(t testing.TB, dir string, opts ...eventstore.Option) (*eventstore.Store, string) {
	t.Helper()
	s, err := eventstore.Open(context.Background(), dir, opts...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}
