package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// logWriter appends to a set of streams from one goroutine, so that the
// order of its appends is the log order, and records every event with the
// stream, version and offset the store gave it. It ends with one "End"
// event per stream, so a subscriber knows when it has everything.
type logWriter struct {
	store   *eventstore.Store
	streams []string

	mu     sync.Mutex
	events []eventstore.Event
	notify chan struct{} // closed and replaced on each append
	err    error
	done   bool
}

func newLogWriter(s *eventstore.Store, streams ...string) *logWriter {
	return &logWriter{store: s, streams: streams, notify: make(chan struct{})}
}

// run appends about n events in commits of 1 to 3 to streams picked at
// random, then the End events, pausing every few commits so that readers
// overlap with the writes.
func (w *logWriter) run(ctx context.Context, n int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	versions := map[string]uint64{}
	appendTo := func(stream string, events []eventstore.Event) bool {
		res, err := w.store.Append(ctx, stream, events)
		w.mu.Lock()
		defer w.mu.Unlock()
		if err != nil {
			w.err, w.done = err, true
			close(w.notify)
			return false
		}
		for i, o := range res.Offsets {
			versions[stream]++
			w.events = append(w.events, eventstore.Event{Stream: stream, Type: events[i].Type,
				Version: versions[stream], Offset: o, Data: events[i].Data})
		}
		close(w.notify)
		w.notify = make(chan struct{})
		return true
	}
	for written, commits := 0, 0; written < n; commits++ {
		k := 1 + rng.IntN(3)
		if !appendTo(w.streams[rng.IntN(len(w.streams))], evs(k, written)) {
			return
		}
		written += k
		if commits%50 == 49 {
			time.Sleep(time.Millisecond)
		}
	}
	for _, stream := range w.streams {
		if !appendTo(stream, []eventstore.Event{ev("End", stream)}) {
			return
		}
	}
	w.mu.Lock()
	w.done = true
	close(w.notify)
	w.mu.Unlock()
}

// waitFor waits until at least n events are written (or the writer ended)
// and returns a copy of the record.
func (w *logWriter) waitFor(ctx context.Context, n int) ([]eventstore.Event, error) {
	for {
		w.mu.Lock()
		events, ch, done, err := w.events, w.notify, w.done, w.err
		w.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if len(events) >= n || done {
			return append([]eventstore.Event(nil), events...), nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// midCommit returns the index of an event at or after i that is not the
// last of its commit, so that reading from its offset starts inside a
// commit.
func midCommit(events []eventstore.Event, i int) int {
	for ; i+1 < len(events); i++ {
		if commitOf(events[i].Offset) == commitOf(events[i+1].Offset) {
			return i
		}
	}
	return i
}

func commitOf(o eventstore.Offset) string {
	seq, _, _ := strings.Cut(string(o), "_")
	return seq
}

// subscription is one subscriber of a test: what it subscribes to, from
// where, which of the writer's events it must get, and how many End events
// it waits for.
type subscription struct {
	name string
	open func(ctx context.Context) iter.Seq2[eventstore.Event, error]
	want func(all []eventstore.Event) []eventstore.Event
	ends int

	got []eventstore.Event
	err error
}

// run consumes the subscription until it has seen its End events.
func (s *subscription) run(ctx context.Context) {
	ends := 0
	for e, err := range s.open(ctx) {
		if err != nil {
			s.err = err
			return
		}
		s.got = append(s.got, e)
		if e.Type == "End" {
			if ends++; ends == s.ends {
				return
			}
		}
	}
	s.err = fmt.Errorf("ended after %d events without an error: %w", len(s.got), ctx.Err())
}

// TestSubscribeWhileAppending starts subscribers of every kind, from the
// start and from offsets in the middle of the log, while a writer appends
// 2,000 events: each must get exactly its events, in order, across the
// switch from catch-up to live.
func TestSubscribeWhileAppending(t *testing.T) {
	s, _ := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := newLogWriter(s, "acct/0", "acct/1", "acct/2", "acct/3", "acct/4", "other/0")
	acct := inCategory("acct")
	streamSub := func(stream string, opts ...eventstore.ReadOption) func(context.Context) iter.Seq2[eventstore.Event, error] {
		return func(ctx context.Context) iter.Seq2[eventstore.Event, error] { return s.Subscribe(ctx, stream, opts...) }
	}
	categorySub := func(opts ...eventstore.ReadOption) func(context.Context) iter.Seq2[eventstore.Event, error] {
		return func(ctx context.Context) iter.Seq2[eventstore.Event, error] {
			return s.SubscribeCategory(ctx, "acct", opts...)
		}
	}
	allSub := func(opts ...eventstore.ReadOption) func(context.Context) iter.Seq2[eventstore.Event, error] {
		return func(ctx context.Context) iter.Seq2[eventstore.Event, error] { return s.SubscribeAll(ctx, opts...) }
	}
	// Each wave starts once the writer has written that many events.
	waves := []struct {
		after int
		subs  func(written []eventstore.Event) []*subscription
	}{
		{0, func([]eventstore.Event) []*subscription {
			return []*subscription{
				{name: "stream acct/1 from start", open: streamSub("acct/1"), want: keepAfter(eventstore.Start, inStream("acct/1")), ends: 1},
				{name: "category from start", open: categorySub(), want: keepAfter(eventstore.Start, acct), ends: 5},
				{name: "all from start", open: allSub(), want: keepAfter(eventstore.Start, everything), ends: 6},
			}
		}},
		{600, func(written []eventstore.Event) []*subscription {
			a, b, c := written[midCommit(written, 300)].Offset, written[midCommit(written, 301)].Offset, written[250].Offset
			return []*subscription{
				{name: "all from " + string(a), open: allSub(eventstore.From(a)), want: keepAfter(a, everything), ends: 6},
				{name: "category from " + string(b), open: categorySub(eventstore.From(b)), want: keepAfter(b, acct), ends: 5},
				{name: "stream acct/2 from " + string(c), open: streamSub("acct/2", eventstore.From(c)), want: keepAfter(c, inStream("acct/2")), ends: 1},
				{name: "stream acct/3 from version 20", open: streamSub("acct/3", eventstore.FromVersion(20)), ends: 1,
					want: keepAfter(eventstore.Start, func(e eventstore.Event) bool { return e.Stream == "acct/3" && e.Version >= 20 })},
			}
		}},
		{1300, func(written []eventstore.Event) []*subscription {
			a := written[midCommit(written, 1200)].Offset
			return []*subscription{
				{name: "all from start, late", open: allSub(), want: keepAfter(eventstore.Start, everything), ends: 6},
				{name: "category from start, late", open: categorySub(eventstore.From(eventstore.Start)), want: keepAfter(eventstore.Start, acct), ends: 5},
				{name: "stream acct/4 from " + string(a), open: streamSub("acct/4", eventstore.From(a)), want: keepAfter(a, inStream("acct/4")), ends: 1},
			}
		}},
	}

	var writer, readers sync.WaitGroup
	writer.Go(func() { w.run(ctx, 2000, 42) })
	var subs []*subscription
	var startedAt []int
	for _, wave := range waves {
		written, err := w.waitFor(ctx, wave.after)
		if err != nil {
			t.Fatalf("writer: %v", err)
		}
		startedAt = append(startedAt, len(written))
		for _, sub := range wave.subs(written) {
			subs = append(subs, sub)
			readers.Go(func() { sub.run(ctx) })
		}
	}
	writer.Wait()
	all, err := w.waitFor(ctx, 0)
	if err != nil {
		t.Fatalf("writer: %v", err)
	}
	readers.Wait()
	// Subscribers that start after the writer is done test no switch to
	// live under load.
	if last := startedAt[len(startedAt)-1]; last >= len(all) {
		t.Errorf("the last wave started after the writer's %d events were all written", len(all))
	}
	for _, sub := range subs {
		if sub.err != nil {
			t.Errorf("%s: %v", sub.name, sub.err)
		}
		if diff := eventsDiff(sub.got, sub.want(all)); diff != "" {
			t.Errorf("%s: %s", sub.name, diff)
		}
	}
}

// TestSubscribeCancelAndResume consumes subscriptions in short sessions
// while a writer appends: each session ends by cancelling its context or
// breaking the loop after a few events, and the next resumes From the
// offset of the last event handled. The sessions together must deliver the
// full sequence exactly once.
func TestSubscribeCancelAndResume(t *testing.T) {
	s, _ := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w := newLogWriter(s, "resume/0", "resume/1", "resume/2", "noise/0")
	consumers := []struct {
		name string
		open func(ctx context.Context, from eventstore.Offset) iter.Seq2[eventstore.Event, error]
		keep func(eventstore.Event) bool
		ends int
	}{
		{"stream", func(ctx context.Context, from eventstore.Offset) iter.Seq2[eventstore.Event, error] {
			return s.Subscribe(ctx, "resume/1", eventstore.From(from))
		}, inStream("resume/1"), 1},
		{"category", func(ctx context.Context, from eventstore.Offset) iter.Seq2[eventstore.Event, error] {
			return s.SubscribeCategory(ctx, "resume", eventstore.From(from))
		}, inCategory("resume"), 3},
		{"all", func(ctx context.Context, from eventstore.Offset) iter.Seq2[eventstore.Event, error] {
			return s.SubscribeAll(ctx, eventstore.From(from))
		}, everything, 4},
	}
	var wg sync.WaitGroup
	wg.Go(func() { w.run(ctx, 600, 7) })
	got := make([][]eventstore.Event, len(consumers))
	errs := make([]error, len(consumers))
	sessions := make([]int, len(consumers))
	for i, c := range consumers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 2))
			from, ends := eventstore.Start, 0
			for ends < c.ends && ctx.Err() == nil {
				sessions[i]++
				sctx, stop := context.WithCancel(ctx)
				limit, byCancel := 1+rng.IntN(40), rng.IntN(2) == 0
				n := 0
				for e, err := range c.open(sctx, from) {
					if err != nil {
						errs[i] = fmt.Errorf("session %d from %s (cancelled: %v): %w", sessions[i], from, sctx.Err() != nil, err)
						stop()
						return
					}
					got[i] = append(got[i], e)
					from = e.Offset
					if e.Type == "End" {
						ends++
					}
					if n++; n == limit || ends == c.ends {
						if !byCancel || ends == c.ends {
							break
						}
						stop() // and handle what the iterator still yields
					}
				}
				stop()
			}
		})
	}
	wg.Wait()
	all, err := w.waitFor(ctx, 0)
	if err != nil {
		t.Fatalf("writer: %v", err)
	}
	for i, c := range consumers {
		if errs[i] != nil {
			t.Errorf("%s: %v", c.name, errs[i])
		}
		if diff := eventsDiff(got[i], keepAfter(eventstore.Start, c.keep)(all)); diff != "" {
			t.Errorf("%s, over %d sessions: %s", c.name, sessions[i], diff)
		}
		if sessions[i] < 5 {
			t.Errorf("%s: only %d sessions", c.name, sessions[i])
		}
	}
}

// TestSubscribeFromNow subscribes From(Now) to a stream, a category and
// everything: events stored before the subscription never come, and the
// first event that comes is followed by every later one.
func TestSubscribeFromNow(t *testing.T) {
	s, _ := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kinds := []struct {
		name   string
		stream string
		open   func(ctx context.Context) iter.Seq2[eventstore.Event, error]
	}{
		{"stream", "now/1", func(ctx context.Context) iter.Seq2[eventstore.Event, error] {
			return s.Subscribe(ctx, "now/1", eventstore.From(eventstore.Now))
		}},
		{"category", "now/2", func(ctx context.Context) iter.Seq2[eventstore.Event, error] {
			return s.SubscribeCategory(ctx, "now", eventstore.From(eventstore.Now))
		}},
		{"all", "later/1", func(ctx context.Context) iter.Seq2[eventstore.Event, error] {
			return s.SubscribeAll(ctx, eventstore.From(eventstore.Now))
		}},
	}
	for _, k := range kinds {
		if _, err := s.Append(ctx, k.stream, []eventstore.Event{ev("Before", "1"), ev("Before", "2")}); err != nil {
			t.Fatal(err)
		}
		sub := startSubscription(ctx, k.open)
		// The subscription's Now is fixed some time after it starts: tick
		// until it sees a tick, then everything after that tick must come.
		var first eventstore.Event
		ticks := 0
		for first.Type == "" {
			if ticks++; ticks > 200 {
				t.Fatalf("%s: no tick delivered", k.name)
			}
			if _, err := s.Append(ctx, k.stream, []eventstore.Event{ev("Tick", fmt.Sprint(ticks))}); err != nil {
				t.Fatal(err)
			}
			first, _ = sub.next(20 * time.Millisecond)
		}
		if first.Type != "Tick" {
			t.Fatalf("%s: first event %s %s, want a tick", k.name, first.Type, first.Data)
		}
		var n int
		fmt.Sscan(string(first.Data), &n)
		var want []string
		for i := n + 1; i <= ticks; i++ {
			want = append(want, "Tick "+fmt.Sprint(i))
		}
		if _, err := s.Append(ctx, k.stream, []eventstore.Event{ev("After", "1"), ev("After", "2")}); err != nil {
			t.Fatal(err)
		}
		want = append(want, "After 1", "After 2")
		for _, w := range want {
			e, ok := sub.next(5 * time.Second)
			if got := e.Type + " " + string(e.Data); !ok || got != w {
				t.Fatalf("%s: got %q (%v), want %q", k.name, got, ok, w)
			}
		}
		if err := sub.stop(); err != nil {
			t.Errorf("%s ended with %v after its context was cancelled", k.name, err)
		}
	}
}

// liveSubscription runs a subscription in a goroutine and hands its events
// over one at a time.
type liveSubscription struct {
	cancel context.CancelFunc
	events chan eventstore.Event
	done   chan error
}

func startSubscription(ctx context.Context, open func(context.Context) iter.Seq2[eventstore.Event, error]) *liveSubscription {
	ctx, cancel := context.WithCancel(ctx)
	l := &liveSubscription{cancel: cancel, events: make(chan eventstore.Event), done: make(chan error, 1)}
	go func() {
		for e, err := range open(ctx) {
			if err != nil {
				l.done <- err
				return
			}
			select {
			case l.events <- e:
			case <-ctx.Done():
			}
		}
		l.done <- nil
	}()
	return l
}

// next returns the next event, or false if none came within d or the
// subscription ended.
func (l *liveSubscription) next(d time.Duration) (eventstore.Event, bool) {
	select {
	case e := <-l.events:
		return e, true
	case <-time.After(d):
		return eventstore.Event{}, false
	}
}

// stop cancels the subscription and returns what it ended with.
func (l *liveSubscription) stop() error {
	l.cancel()
	select {
	case err := <-l.done:
		return err
	case <-time.After(5 * time.Second):
		return errors.New("the subscription did not end within 5s of its cancellation")
	}
}

// ended waits up to d for the subscription to end by itself.
func (l *liveSubscription) ended(d time.Duration) (bool, error) {
	select {
	case err := <-l.done:
		return true, err
	case <-time.After(d):
		return false, nil
	}
}

// TestSubscribeUpperBounds checks that a subscription with an upper bound
// delivers up to the bound, during catch-up or live, and then ends by
// itself, without an error, once an event past the bound is stored.
func TestSubscribeUpperBounds(t *testing.T) {
	s, _ := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.Append(ctx, "bound/1", evs(3, 0))
	if err != nil {
		t.Fatal(err)
	}

	// Bound reached during catch-up.
	got := collect(t, s.Subscribe(ctx, "bound/1", eventstore.ToVersion(2)))
	if len(got) != 2 || got[1].Version != 2 {
		t.Errorf("ToVersion(2) on 3 events: %s", describe(got))
	}
	got = collect(t, s.SubscribeCategory(ctx, "bound", eventstore.ToOffset(res.Offsets[0])))
	if len(got) != 1 || got[0].Offset != res.Offsets[0] {
		t.Errorf("category ToOffset(first) on 3 events: %s", describe(got))
	}

	// Bound reached live, in the middle of a commit.
	bound := time.Now().Add(time.Second)
	subs := map[string]*liveSubscription{
		"stream ToVersion(5)": startSubscription(ctx, func(ctx context.Context) iter.Seq2[eventstore.Event, error] {
			return s.Subscribe(ctx, "bound/1", eventstore.ToVersion(5))
		}),
		"all ToTime(now)": startSubscription(ctx, func(ctx context.Context) iter.Seq2[eventstore.Event, error] {
			return s.SubscribeAll(ctx, eventstore.ToTime(bound))
		}),
	}
	for name, sub := range subs {
		for v := uint64(1); v <= 3; v++ {
			if e, ok := sub.next(5 * time.Second); !ok || e.Version != v {
				t.Fatalf("%s: catch-up event %d: %+v, %v", name, v, e, ok)
			}
		}
	}
	if _, err := s.Append(ctx, "bound/1", evs(3, 3)); err != nil { // versions 4, 5, 6
		t.Fatal(err)
	}
	sub := subs["stream ToVersion(5)"]
	for v := uint64(4); v <= 5; v++ {
		if e, ok := sub.next(5 * time.Second); !ok || e.Version != v {
			t.Fatalf("ToVersion(5): live event %d: %+v, %v", v, e, ok)
		}
	}
	if ok, err := sub.ended(5 * time.Second); !ok || err != nil {
		t.Errorf("ToVersion(5) after version 6 was stored: ended %v, with %v; want ended, no error", ok, err)
	}

	sub = subs["all ToTime(now)"]
	for v := uint64(4); v <= 6; v++ {
		e, ok := sub.next(5 * time.Second)
		if !ok || e.Version != v {
			t.Fatalf("ToTime: live event %d: %+v, %v", v, e, ok)
		}
		if e.StoredAt.After(bound) {
			t.Fatalf("the machine is too slow for this test: version %d stored at %v, after the bound %v", v, e.StoredAt, bound)
		}
	}
	time.Sleep(time.Until(bound) + 10*time.Millisecond)
	if _, err := s.Append(ctx, "bound/1", evs(1, 6)); err != nil {
		t.Fatal(err)
	}
	if e, ok := sub.next(200 * time.Millisecond); ok {
		t.Errorf("ToTime: delivered version %d, stored after the bound", e.Version)
	}
	if ok, err := sub.ended(5 * time.Second); !ok || err != nil {
		t.Errorf("ToTime after a later event was stored: ended %v, with %v; want ended, no error", ok, err)
	}
}
