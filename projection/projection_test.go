package projection_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/projection"
)

func openStore(t testing.TB, opts ...eventstore.Option) *eventstore.Store {
	t.Helper()
	s, err := eventstore.Open(context.Background(), t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// memModel is an in-memory read model: the events it was handed, in order.
type memModel struct {
	mu      sync.Mutex
	events  []eventstore.Event
	replays int
	fail    func(eventstore.Event) error
}

func (m *memModel) Handle(ctx context.Context, b projection.Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range b.Events {
		if m.fail != nil {
			if err := m.fail(e); err != nil {
				return err
			}
		}
	}
	m.events = append(m.events, b.Events...)
	if b.Replay {
		m.replays += len(b.Events)
	}
	return nil
}

func (m *memModel) snapshot() []eventstore.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.events)
}

func appendN(t testing.TB, s *eventstore.Store, stream string, n int) {
	t.Helper()
	for i := range n {
		if _, err := s.Append(context.Background(), stream, []eventstore.Event{{Type: "Counted", Data: []byte(fmt.Sprint(i))}}); err != nil {
			t.Fatal(err)
		}
	}
}

// checkOnceInOrder checks that got is want's events, each once, in order.
func checkOnceInOrder(t *testing.T, got, want []eventstore.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d events handled, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Offset != want[i].Offset {
			t.Fatalf("event %d handled is %s v%d (%s), want %s v%d (%s)", i, got[i].Stream, got[i].Version, got[i].Offset,
				want[i].Stream, want[i].Version, want[i].Offset)
		}
	}
}

func collect(t testing.TB, seq func(func(eventstore.Event, error) bool)) []eventstore.Event {
	t.Helper()
	var out []eventstore.Event
	for e, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// TestCatchUpThenLive: a projection catches up from the start while
// others append, goes live without a gap or a duplicate at the switch, is
// marked live once caught up, and resumes exactly after its checkpoint.
func TestCatchUpThenLive(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "orders/1", 300)
	appendN(t, s, "users/1", 50) // another category
	model := &memModel{}
	cps := &checkpoint.Memory{}
	p := projection.Projection{Name: "orders", Source: projection.Category("orders"),
		Sink: projection.AtLeastOnce("orders", model, cps), BatchSize: 32}
	r := projection.NewRunner(s, nil)
	defer r.Close()
	if err := r.Start(ctx, p); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { appendN(t, s, "orders/2", 300) }) // during the catch-up and after
	wg.Wait()
	if err := r.WaitCaughtUp(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	checkOnceInOrder(t, model.snapshot(), collect(t, s.ReadCategory(ctx, "orders")))
	st, _ := r.Status("orders")
	if st.State != projection.StateLive || st.LagCommits != 0 {
		t.Fatalf("status after catching up: %+v", st)
	}
	if model.replays < 300 {
		t.Fatalf("%d events marked as replay, want at least the 300 from before the start", model.replays)
	}
	// Live: one more, seen at once.
	appendN(t, s, "orders/3", 1)
	if err := r.WaitCaughtUp(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	// Stopped, more appended, started again: resumes after the checkpoint.
	r.Stop("orders")
	appendN(t, s, "orders/1", 20)
	if err := r.Start(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitCaughtUp(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	checkOnceInOrder(t, model.snapshot(), collect(t, s.ReadCategory(ctx, "orders")))
}

// TestSourcesAndTypes: a list of streams and an event type filter.
func TestSourcesAndTypes(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	for i := range 30 {
		typ := []string{"A", "B"}[i%2]
		for _, stream := range []string{"x/1", "x/2", "y/1"} {
			if _, err := s.Append(ctx, stream, []eventstore.Event{{Type: typ}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	model := &memModel{}
	r := projection.NewRunner(s, nil)
	defer r.Close()
	err := r.Start(ctx, projection.Projection{Name: "ab", Source: projection.Streams("x/2", "y/1"), Types: []string{"B"},
		Sink: projection.AtLeastOnce("ab", model, &checkpoint.Memory{})})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WaitCaughtUp(ctx, "ab"); err != nil {
		t.Fatal(err)
	}
	var want []eventstore.Event
	for _, e := range collect(t, s.ReadAll(ctx)) {
		if (e.Stream == "x/2" || e.Stream == "y/1") && e.Type == "B" {
			want = append(want, e)
		}
	}
	checkOnceInOrder(t, model.snapshot(), want)
}

// TestPoison: a handler that keeps failing on one event stops the
// projection with an error naming it (Stop), or the event goes to the
// dead letters and the projection goes on (DeadLetter).
func TestPoison(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "p/1", 20)
	bad := collect(t, s.Read(ctx, "p/1"))[9]
	fail := func(e eventstore.Event) error {
		if e.Offset == bad.Offset {
			return errors.New("cannot apply this one")
		}
		return nil
	}
	r := projection.NewRunner(s, nil)
	defer r.Close()

	stopped := &memModel{fail: fail}
	if err := r.Start(ctx, projection.Projection{Name: "stop", Source: projection.Category("p"), Retries: 1,
		Sink: projection.AtLeastOnce("stop", stopped, &checkpoint.Memory{})}); err != nil {
		t.Fatal(err)
	}
	err := r.WaitCaughtUp(ctx, "stop")
	var perr *projection.PoisonError
	if !errors.As(err, &perr) || perr.Event.Offset != bad.Offset || perr.Event.Stream != "p/1" {
		t.Fatalf("poison with Stop: %v; want a PoisonError naming %s", err, bad.Offset)
	}
	if got := stopped.snapshot(); len(got) != 9 {
		t.Fatalf("applied %d events before the poison one, want 9", len(got))
	}
	if st, _ := r.Status("stop"); st.State != projection.StateFailed {
		t.Fatalf("state %s, want failed", st.State)
	}

	skipped := &memModel{fail: fail}
	if err := r.Start(ctx, projection.Projection{Name: "skip", Source: projection.Category("p"), Retries: 1, Poison: projection.DeadLetter,
		Sink: projection.AtLeastOnce("skip", skipped, &checkpoint.Memory{})}); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitCaughtUp(ctx, "skip"); err != nil {
		t.Fatal(err)
	}
	if got := skipped.snapshot(); len(got) != 19 {
		t.Fatalf("applied %d events, want 19 (all but the poison one)", len(got))
	}
	dead := collect(t, s.Read(ctx, projection.DeadLetterCategory+"/skip"))
	if len(dead) != 1 || dead[0].Metadata["offset"] != string(bad.Offset) || dead[0].Metadata["error"] == "" {
		t.Fatalf("dead letters: %+v", dead)
	}
}

// TestUnavailableIsNotPoison: a batch that fails with an error matching
// eventstore.ErrUnavailable (a checkpoint kept on a cluster without a
// leader, say) is not counted against the batch: the projection, whose
// Retries would have made the event poison, resumes from its saved
// position, applies every event once, and neither fails nor sends a good
// event to its dead letters.
func TestUnavailableIsNotPoison(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "u/1", 20)
	for _, policy := range []projection.Poison{projection.Stop, projection.DeadLetter} {
		name := fmt.Sprintf("unavailable-%d", policy)
		var mu sync.Mutex
		outages := 4 // more than the batch and then the event alone would try (Retries 1: two each)
		model := &memModel{fail: func(e eventstore.Event) error {
			mu.Lock()
			defer mu.Unlock()
			if e.Version == 10 && outages > 0 {
				outages--
				return fmt.Errorf("save the position: %w", eventstore.ErrUnavailable)
			}
			return nil
		}}
		r := projection.NewRunner(s, nil)
		if err := r.Start(ctx, projection.Projection{Name: name, Source: projection.Category("u"), Retries: 1, Poison: policy,
			Sink: projection.AtLeastOnce(name, model, &checkpoint.Memory{})}); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := r.WaitCaughtUp(wctx, name)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkOnceInOrder(t, model.snapshot(), collect(t, s.Read(ctx, "u/1")))
		if st, _ := r.Status(name); st.State != projection.StateLive || st.Err != nil {
			t.Errorf("%s: status %+v, want live without an error", name, st)
		}
		if dead := collect(t, s.Read(ctx, projection.DeadLetterCategory+"/"+name)); len(dead) != 0 {
			t.Errorf("%s: %d dead letters, want none", name, len(dead))
		}
		r.Close()
	}
}

// TestReplayAsOfTime: a read model built as of a time into a target of
// its own, without touching the live projection's checkpoint.
func TestReplayAsOfTime(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := openStore(t, eventstore.WithClock(clock))
	for i := range 10 {
		appendN(t, s, "t/1", 1)
		mu.Lock()
		now = now.Add(time.Hour)
		mu.Unlock()
		_ = i
	}
	live := &checkpoint.Memory{}
	asOf := &memModel{}
	var last projection.Progress
	err := projection.Replay(ctx, s, projection.Projection{Name: "then", Source: projection.All(),
		Sink: projection.AtLeastOnce("then", asOf, &checkpoint.Memory{})},
		func(p projection.Progress) { last = p },
		eventstore.ToTime(time.Date(2026, 2, 1, 15, 30, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	if got := asOf.snapshot(); len(got) != 4 || asOf.replays != 4 {
		t.Fatalf("as of 15:30: %d events (%d replayed), want 4", len(got), asOf.replays)
	}
	// Bounded at 15:30, the replay covers the four commits stored by then
	// and ends at 100%, though six more follow in the log.
	if last.Events != 4 || last.Rate <= 0 || last.Total != 4 || last.Done != last.Total || last.Remaining != 0 {
		t.Fatalf("progress %+v", last)
	}
	if cp, _ := live.Load(ctx, "then"); cp.Revision != 0 {
		t.Fatalf("the live checkpoint moved: %+v", cp)
	}
}

// TestReplayToOffset: a replay bounded by an offset counts its progress to
// that offset, not to the log's end, and reaches it, even when the
// source's last event lies before the bound.
func TestReplayToOffset(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "r/1", 40)
	appendN(t, s, "other/1", 10)
	bound, err := s.Tail(ctx)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "r/1", 100)
	model := &memModel{}
	cps := &checkpoint.Memory{}
	var seen []projection.Progress
	err = projection.Replay(ctx, s, projection.Projection{Name: "to", Source: projection.Category("r"), BatchSize: 8,
		Sink: projection.AtLeastOnce("to", model, cps)},
		func(p projection.Progress) { seen = append(seen, p) }, eventstore.ToOffset(bound))
	if err != nil {
		t.Fatal(err)
	}
	if got := model.snapshot(); len(got) != 40 {
		t.Fatalf("%d events replayed, want 40", len(got))
	}
	last := seen[len(seen)-1]
	if last.Total != 50 || last.Done != 50 || last.Remaining != 0 || last.Position != bound {
		t.Fatalf("last progress %+v, want 50 of 50 at %s", last, bound)
	}
	for _, p := range seen {
		if p.Total != 50 || p.Done > p.Total {
			t.Fatalf("progress %+v: Total must be the bound's 50 commits", p)
		}
	}
	// The sink is at the bound now: a replay to it, or to an earlier
	// offset, has nothing to do (the documented answer).
	for _, to := range []eventstore.Offset{bound, seen[0].Position} {
		var again []projection.Progress
		err = projection.Replay(ctx, s, projection.Projection{Name: "to", Source: projection.Category("r"),
			Sink: projection.AtLeastOnce("to", model, cps)}, func(p projection.Progress) { again = append(again, p) }, eventstore.ToOffset(to))
		if err != nil || len(model.snapshot()) != 40 || len(again) != 1 || again[0].Done != again[0].Total || again[0].Events != 0 {
			t.Fatalf("replay to %s again: %v, %d events, progress %+v; want nil, nothing applied, one call with Done = Total", to, err, len(model.snapshot()), again)
		}
	}
}

// TestReplayRefusesStartBounds: a replay starts at its sink's saved
// position, so a bound that says where a read starts (From, FromVersion)
// is refused with ErrInvalidOption, at once and with nothing applied (a
// From used to override the start of the search for the replay's end,
// which then never ended).
func TestReplayRefusesStartBounds(t *testing.T) {
	s := openStore(t)
	appendN(t, s, "rf/1", 5)
	appendN(t, s, "other/1", 2)
	tail, err := s.Tail(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for what, bound := range map[string]eventstore.ReadOption{
		"From":        eventstore.From(tail),
		"From Start":  eventstore.From(eventstore.Start),
		"FromVersion": eventstore.FromVersion(2),
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		model := &memModel{}
		err := projection.Replay(ctx, s, projection.Projection{Name: "rf", Source: projection.Category("rf"),
			Sink: projection.AtLeastOnce("rf", model, &checkpoint.Memory{})}, nil, eventstore.ToOffset(tail), bound)
		cancel()
		if !errors.Is(err, eventstore.ErrInvalidOption) || len(model.snapshot()) != 0 {
			t.Errorf("replay bounded by %s: %v, %d events applied; want ErrInvalidOption and none", what, err, len(model.snapshot()))
		}
	}
}

// TestLeaseOneRunner: two runners share a lease: one applies, the other
// stands by, and takes over when the first stops; no event is applied
// twice to the shared read model.
func TestLeaseOneRunner(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "l/1", 50)
	kv, err := checkpoint.NewKV(ctx, s, "")
	if err != nil {
		t.Fatal(err)
	}
	model := &memModel{}
	p := projection.Projection{Name: "leased", Source: projection.Category("l"), Lease: kv, LeaseTTL: 600 * time.Millisecond,
		Sink: projection.AtLeastOnce("leased", model, kv)}
	a, b := projection.NewRunner(s, nil), projection.NewRunner(s, nil)
	defer a.Close()
	defer b.Close()
	if err := a.Start(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitCaughtUp(ctx, "leased"); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx, p); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if st, _ := b.Status("leased"); st.State != projection.StateStandby {
		t.Fatalf("second runner: %s, want standby", st.State)
	}
	a.Stop("leased") // releases the lease
	appendN(t, s, "l/1", 10)
	start := time.Now()
	if err := b.WaitCaughtUp(ctx, "leased"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("takeover took %v", d)
	}
	checkOnceInOrder(t, model.snapshot(), collect(t, s.ReadCategory(ctx, "l")))
}
