package projection_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/projection"
)

// handled is one event as a handler saw it.
type handled struct {
	e      eventstore.Event
	replay bool
}

// slowModel is a read model whose handler takes delay a batch, keeping
// every event it is handed with its batch's Replay flag, and the state the
// runner reported when the first live batch came.
type slowModel struct {
	delay  time.Duration
	runner *projection.Runner
	name   string

	mu        sync.Mutex
	events    []handled
	liveState projection.State // Status when the first live batch came
	firstLive chan struct{}
}

func (m *slowModel) Handle(ctx context.Context, b projection.Batch) error {
	time.Sleep(m.delay)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range b.Events {
		m.events = append(m.events, handled{e, b.Replay})
	}
	if !b.Replay && m.liveState == "" {
		st, _ := m.runner.Status(m.name)
		m.liveState = st.State
		close(m.firstLive)
	}
	return nil
}

// steadyWriters appends to stream from n goroutines, one event about every
// millisecond each, until the returned stop is called.
func steadyWriters(t testing.TB, s *eventstore.Store, stream string, n int) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if _, err := s.Append(ctx, stream, []eventstore.Event{{Type: "Counted"}}); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

// TestLiveUnderSteadyAppends: a projection started while two writers
// append about every millisecond, with a handler of 30 ms a batch, goes
// live once it has applied what was stored before it started (never
// waiting for a quiet moment): the events up to Status.LiveFrom come as
// Replay, every one after it not, the runner says live when the first live
// batch comes, and every event is applied once, in order.
func TestLiveUnderSteadyAppends(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "steady/old", 300)
	stop := steadyWriters(t, s, "steady/new", 2)
	defer stop()
	time.Sleep(100 * time.Millisecond) // the writers are going

	r := projection.NewRunner(s, nil)
	defer r.Close()
	m := &slowModel{delay: 30 * time.Millisecond, runner: r, name: "steady", firstLive: make(chan struct{})}
	if err := r.Start(ctx, projection.Projection{Name: "steady", Source: projection.Category("steady"), BatchSize: 64,
		Sink: projection.AtLeastOnce("steady", m, &checkpoint.Memory{})}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.firstLive:
	case <-time.After(30 * time.Second):
		st, _ := r.Status("steady")
		t.Fatalf("no live batch after 30 s of steady appends: %+v", st)
	}
	time.Sleep(200 * time.Millisecond) // more live batches under traffic
	stop()
	if err := r.WaitCaughtUp(ctx, "steady"); err != nil {
		t.Fatal(err)
	}
	st, _ := r.Status("steady")
	r.Stop("steady")

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.liveState != projection.StateLive {
		t.Errorf("state when the first live batch came: %s, want live", m.liveState)
	}
	if st.LiveFrom == "" || st.LiveFrom == eventstore.Start {
		t.Fatalf("LiveFrom %q", st.LiveFrom)
	}
	var got []eventstore.Event
	before, after := 0, 0
	for _, h := range m.events {
		got = append(got, h.e)
		if old := h.e.Offset <= st.LiveFrom; old != h.replay {
			t.Fatalf("event at %s (LiveFrom %s) came with Replay %v", h.e.Offset, st.LiveFrom, h.replay)
		}
		if h.replay {
			before++
		} else {
			after++
		}
	}
	if before < 300 || after == 0 {
		t.Fatalf("%d events replayed, %d live", before, after)
	}
	checkOnceInOrder(t, got, collect(t, s.ReadCategory(ctx, "steady")))
}

// TestLagAgainstSource: lag is measured against what the projection's
// source holds: a caught-up category projection, or one whose event types
// another stream does not append, reports no lag while the rest of the log
// grows; one that has events of its source to apply reports them, and how
// long the oldest has waited.
func TestLagAgainstSource(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "mine/1", 10)
	gate := make(chan struct{})
	var gated sync.Mutex
	blocked := false
	model := projection.HandlerFunc(func(ctx context.Context, b projection.Batch) error {
		gated.Lock()
		wait := blocked
		gated.Unlock()
		if wait {
			<-gate
		}
		return nil
	})
	r := projection.NewRunner(s, nil)
	defer r.Close()
	for _, p := range []projection.Projection{
		{Name: "category", Source: projection.Category("mine")},
		{Name: "types", Source: projection.All(), Types: []string{"Counted"}},
	} {
		p.Sink = projection.AtLeastOnce(p.Name, model, &checkpoint.Memory{})
		if err := r.Start(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := r.WaitCaughtUp(ctx, p.Name); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 { // outside both sources
		if _, err := s.Append(ctx, "theirs/1", []eventstore.Event{{Type: "Other"}}); err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, name := range []string{"category", "types"} {
		if st, _ := r.Status(name); st.LagCommits != 0 || st.LagTime != 0 || st.State != projection.StateLive {
			t.Errorf("%s, caught up while another category appends: %+v", name, st)
		}
	}

	// Behind: the handler waits; two events of the source come.
	gated.Lock()
	blocked = true
	gated.Unlock()
	appendN(t, s, "mine/1", 1)
	appendN(t, s, "theirs/1", 5)
	appendN(t, s, "mine/1", 1)
	time.Sleep(50 * time.Millisecond)
	st, _ := r.Status("category")
	head, err := s.Head(ctx, "mine/1")
	if err != nil {
		t.Fatal(err)
	}
	// One event a commit: the commits from the position to the newest.
	commits := len(collect(t, s.ReadAll(ctx, eventstore.From(st.Position), eventstore.ToOffset(head.Offset))))
	if commits < 7 || st.LagCommits != uint64(commits) || st.LagTime < 50*time.Millisecond {
		t.Errorf("behind by two events, %d commits from the position to the newest, the oldest stored 50 ms ago: %+v", commits, st)
	}
	gated.Lock()
	blocked = false
	gated.Unlock()
	close(gate)
	if err := r.WaitCaughtUp(ctx, "category"); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "theirs/1", 3)
	if st, _ := r.Status("category"); st.LagCommits != 0 || st.LagTime != 0 {
		t.Errorf("caught up again: %+v", st)
	}
}
