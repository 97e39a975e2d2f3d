package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// The producer tests name what an append carried in its event data,
// "e<epoch>/s<seq>", so that reading a stream back tells exactly which
// producer appends were stored, in which order.

// prodStep is one producer append: its epoch and sequence number.
type prodStep struct{ epoch, seq uint64 }

func (s prodStep) data() string { return fmt.Sprintf("e%d/s%d", s.epoch, s.seq) }

func (s prodStep) event() eventstore.Event { return ev("Produced", s.data()) }

// prodWant is the outcome the rules table gives for an append.
type prodWant struct {
	kind      error // nil: stored; ErrStaleEpoch, ErrSequenceGap, ErrInvalidProducer: refused
	duplicate bool  // nil error, nothing stored

	epoch, seq   uint64 // the result's ProducerEpoch, ProducerSeq (stored or duplicate)
	currentEpoch uint64 // ErrStaleEpoch
	expectedSeq  uint64 // ErrSequenceGap
}

func wantStored(epoch, seq uint64) prodWant { return prodWant{epoch: epoch, seq: seq} }
func wantDuplicate(epoch, last uint64) prodWant {
	return prodWant{duplicate: true, epoch: epoch, seq: last}
}
func wantStale(current uint64) prodWant {
	return prodWant{kind: eventstore.ErrStaleEpoch, currentEpoch: current}
}
func wantGap(expected uint64) prodWant {
	return prodWant{kind: eventstore.ErrSequenceGap, expectedSeq: expected}
}

var wantInvalid = prodWant{kind: eventstore.ErrInvalidProducer}

// steps returns the appends (epoch, from), (epoch, from+1), ... (epoch, to).
func prodSteps(epoch, from, to uint64) []prodStep {
	var out []prodStep
	for s := from; s <= to; s++ {
		out = append(out, prodStep{epoch, s})
	}
	return out
}

// prodRuleCases is the rules table of producer.go, row by row, each row
// from more than one starting state where that matters.
var prodRuleCases = []struct {
	name  string
	setup []prodStep // stored first, each must be accepted
	try   prodStep
	want  prodWant
}{
	// none, n = 0, any e: accepted
	{"unknown/seq 0 epoch 0", nil, prodStep{0, 0}, wantStored(0, 0)},
	{"unknown/seq 0 epoch 7", nil, prodStep{7, 0}, wantStored(7, 0)},
	// none, n ≠ 0: ErrSequenceGap, expected 0
	{"unknown/seq 1", nil, prodStep{0, 1}, wantGap(0)},
	{"unknown/seq 5 epoch 7", nil, prodStep{7, 5}, wantGap(0)},
	// epoch E, e < E: ErrStaleEpoch, current E
	{"stale/seq 0", prodSteps(2, 0, 1), prodStep{1, 0}, wantStale(2)},
	{"stale/next seq", prodSteps(2, 0, 1), prodStep{1, 2}, wantStale(2)},
	{"stale/epoch 0 after a claim", append(prodSteps(0, 0, 3), prodStep{3, 0}), prodStep{0, 4}, wantStale(3)},
	{"stale/old seq after a claim", append(prodSteps(0, 0, 3), prodStep{3, 0}), prodStep{0, 1}, wantStale(3)},
	// epoch E, e > E, n = 0: accepted, epoch becomes e
	{"new epoch/seq 0", prodSteps(2, 0, 1), prodStep{3, 0}, wantStored(3, 0)},
	{"new epoch/far ahead", prodSteps(2, 0, 1), prodStep{100, 0}, wantStored(100, 0)},
	{"new epoch/twice", append(prodSteps(0, 0, 1), prodStep{1, 0}), prodStep{2, 0}, wantStored(2, 0)},
	// epoch E, e > E, n ≠ 0: ErrInvalidProducer
	{"new epoch/seq 1", prodSteps(2, 0, 1), prodStep{3, 1}, wantInvalid},
	{"new epoch/old epoch's next seq", prodSteps(2, 0, 1), prodStep{3, 2}, wantInvalid},
	// E, last L, e = E, n ≤ L: duplicate
	{"duplicate/seq last", prodSteps(2, 0, 3), prodStep{2, 3}, wantDuplicate(2, 3)},
	{"duplicate/seq 0", prodSteps(2, 0, 3), prodStep{2, 0}, wantDuplicate(2, 3)},
	{"duplicate/only seq 0", prodSteps(0, 0, 0), prodStep{0, 0}, wantDuplicate(0, 0)},
	{"duplicate/new epoch's seq 0", append(prodSteps(0, 0, 2), prodStep{1, 0}), prodStep{1, 0}, wantDuplicate(1, 0)},
	// E, last L, e = E, n = L+1: accepted
	{"next/seq 1", prodSteps(0, 0, 0), prodStep{0, 1}, wantStored(0, 1)},
	{"next/seq last+1", prodSteps(2, 0, 3), prodStep{2, 4}, wantStored(2, 4)},
	{"next/after a claim", append(prodSteps(0, 0, 2), prodStep{1, 0}), prodStep{1, 1}, wantStored(1, 1)},
	// E, last L, e = E, n > L+1: ErrSequenceGap, expected L+1
	{"gap/seq last+2", prodSteps(2, 0, 3), prodStep{2, 5}, wantGap(4)},
	{"gap/far ahead", prodSteps(2, 0, 3), prodStep{2, 1 << 40}, wantGap(4)},
	{"gap/old epoch's next seq after a claim", append(prodSteps(0, 0, 2), prodStep{1, 0}), prodStep{1, 3}, wantGap(1)},
}

// TestProducerRules checks every row of the producer rules table through
// Store.Append, with the producer state served from the store's cache, from
// the read index (no head cache), and from a reopened store.
func TestProducerRules(t *testing.T) {
	ctx := context.Background()
	modes := []struct {
		name   string
		opts   []eventstore.Option
		reopen bool
	}{
		{"cached", nil, false},
		{"index", []eventstore.Option{eventstore.WithHeadCache(0)}, false},
		{"reopened", nil, true},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			s, dir := openStore(t, mode.opts...)
			t.Cleanup(func() { s.Close() }) // the last one reopened
			for i, tc := range prodRuleCases {
				t.Run(tc.name, func(t *testing.T) {
					stream := fmt.Sprintf("rules/%d", i)
					var want []string
					for _, st := range tc.setup {
						res, err := s.Append(ctx, stream, []eventstore.Event{st.event()}, eventstore.WithProducer("p", st.epoch, st.seq))
						if err != nil || res.Duplicate {
							t.Fatalf("setup %v: duplicate %v, %v", st, res.Duplicate, err)
						}
						want = append(want, st.data())
					}
					if mode.reopen {
						s = prodReopen(t, s, dir, mode.opts...)
					}
					// A plain event by someone else, so that versions and
					// producer sequence numbers differ.
					if _, err := s.Append(ctx, stream, []eventstore.Event{ev("Plain", "plain")}); err != nil {
						t.Fatal(err)
					}
					want = append(want, "plain")
					version := uint64(len(want))

					res, err := s.Append(ctx, stream, []eventstore.Event{tc.try.event()}, eventstore.WithProducer("p", tc.try.epoch, tc.try.seq))
					checkProducerOutcome(t, stream, "p", tc.try, tc.want, version, res, err)
					if tc.want.kind == nil && !tc.want.duplicate {
						want = append(want, tc.try.data())
					}
					if got := prodReadData(t, s, stream); !slices.Equal(got, want) {
						t.Fatalf("stored %q, want %q", got, want)
					}
				})
			}
		})
	}
}

// checkProducerOutcome checks an append's result against the rules table;
// version is the stream's version before the append.
func checkProducerOutcome(t *testing.T, stream, id string, try prodStep, want prodWant, version uint64, res eventstore.AppendResult, err error) {
	t.Helper()
	if want.kind != nil {
		if !errors.Is(err, want.kind) {
			t.Fatalf("append %v: error %v, want %v", try, err, want.kind)
		}
		var perr *eventstore.ProducerError
		if !errors.As(err, &perr) {
			t.Fatalf("append %v: %T is not a *ProducerError: %v", try, err, err)
		}
		if perr.Kind != want.kind || perr.Stream != stream || perr.Producer != id || perr.Epoch != try.epoch || perr.Seq != try.seq {
			t.Fatalf("append %v: error %+v", try, perr)
		}
		if want.kind == eventstore.ErrStaleEpoch && perr.CurrentEpoch != want.currentEpoch {
			t.Fatalf("append %v: current epoch %d, want %d", try, perr.CurrentEpoch, want.currentEpoch)
		}
		if want.kind == eventstore.ErrSequenceGap && perr.ExpectedSeq != want.expectedSeq {
			t.Fatalf("append %v: expected seq %d, want %d", try, perr.ExpectedSeq, want.expectedSeq)
		}
		return
	}
	if err != nil {
		t.Fatalf("append %v: %v", try, err)
	}
	if res.Duplicate != want.duplicate || res.ProducerEpoch != want.epoch || res.ProducerSeq != want.seq {
		t.Fatalf("append %v: duplicate %v, producer (%d, %d); want duplicate %v, (%d, %d)",
			try, res.Duplicate, res.ProducerEpoch, res.ProducerSeq, want.duplicate, want.epoch, want.seq)
	}
	if want.duplicate {
		if res.Version != version || res.FirstVersion != version || len(res.Offsets) != 0 || res.Offset() != "" {
			t.Fatalf("duplicate %v: result %+v, want version %d and no offsets", try, res, version)
		}
		return
	}
	if res.FirstVersion != version+1 || res.Version != version+1 || len(res.Offsets) != 1 {
		t.Fatalf("append %v: result %+v, want version %d", try, res, version+1)
	}
}

// reopenStore closes s and opens dir again (closed with the test).
func prodReopenStore(t testing.TB, s *eventstore.Store, dir string, opts ...eventstore.Option) *eventstore.Store {
	t.Helper()
	s = prodReopen(t, s, dir, opts...)
	t.Cleanup(func() { s.Close() })
	return s
}

// reopen closes s and opens dir again; the caller closes the new store.
func prodReopen(t testing.TB, s *eventstore.Store, dir string, opts ...eventstore.Option) *eventstore.Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s, err := eventstore.Open(context.Background(), dir, opts...)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	return s
}

// readData reads a stream through the index and returns its events' data,
// checking that versions run 1, 2, 3 ...
func prodReadData(t testing.TB, s *eventstore.Store, stream string) []string {
	t.Helper()
	var out []string
	for i, e := range collect(t, s.Read(context.Background(), stream)) {
		if e.Version != uint64(i+1) {
			t.Fatalf("%s: event %d has version %d", stream, i, e.Version)
		}
		out = append(out, string(e.Data))
	}
	return out
}

// readAllData reads the whole log and returns each stream's events' data.
func prodReadAllData(t testing.TB, s *eventstore.Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, e := range collect(t, s.ReadAll(context.Background())) {
		out[e.Stream] = append(out[e.Stream], string(e.Data))
	}
	return out
}

// prodModel is the rules table as a reference model, for random sequences.
type prodModel struct {
	known       bool
	epoch, last uint64
}

func (m *prodModel) decide(try prodStep) prodWant {
	switch {
	case !m.known && try.seq != 0:
		return wantGap(0)
	case !m.known:
		m.known, m.epoch, m.last = true, try.epoch, 0
		return wantStored(try.epoch, 0)
	case try.epoch < m.epoch:
		return wantStale(m.epoch)
	case try.epoch > m.epoch && try.seq != 0:
		return wantInvalid
	case try.epoch > m.epoch:
		m.epoch, m.last = try.epoch, 0
		return wantStored(try.epoch, 0)
	case try.seq <= m.last:
		return wantDuplicate(m.epoch, m.last)
	case try.seq == m.last+1:
		m.last = try.seq
		return wantStored(m.epoch, try.seq)
	default:
		return wantGap(m.last + 1)
	}
}

// TestProducerRulesRandom drives producers with random (epoch, seq) pairs
// near their state, and compares every outcome and the stored events with
// the reference model. Half the way through, the store is reopened.
func TestProducerRulesRandom(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	rng := rand.New(rand.NewPCG(1, 2))
	const stream = "rules/random"
	models := map[string]*prodModel{"a": {}, "b": {}, "c": {}}
	var want []string
	for i := range 600 {
		if i == 300 {
			s = prodReopenStore(t, s, dir)
		}
		id := string(rune('a' + rng.IntN(3)))
		m := models[id]
		try := prodStep{epoch: m.epoch, seq: m.last + 1}
		switch r := rng.IntN(10); {
		case r < 2:
			try.epoch += uint64(rng.IntN(2)) // a claim at seq 0, or not
			try.seq = 0
		case r < 3 && try.epoch > 0:
			try.epoch--
		case r < 5:
			try.seq = uint64(rng.IntN(int(m.last) + 3))
		case r < 6:
			try.epoch++
		}
		e := ev("Produced", id+"/"+try.data())
		res, err := s.Append(ctx, stream, []eventstore.Event{e}, eventstore.WithProducer(id, try.epoch, try.seq))
		w := m.decide(try)
		checkProducerOutcome(t, stream, id, try, w, uint64(len(want)), res, err)
		if w.kind == nil && !w.duplicate {
			want = append(want, id+"/"+try.data())
		}
	}
	if got := prodReadData(t, s, stream); !slices.Equal(got, want) {
		t.Fatalf("stored %d events, want %d:\n%q\n%q", len(got), len(want), got, want)
	}
	if got := prodReadAllData(t, s)[stream]; !slices.Equal(got, want) {
		t.Fatalf("the log holds %d events, want %d", len(got), len(want))
	}
}

// TestProducerInvalidID checks that ids that cannot be stored are refused
// with ErrInvalidProducer, by Append and by Store.Producer, storing nothing.
func TestProducerInvalidID(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	const stream = "ids/1"
	for _, id := range []string{"", "a\x00b", "line\nbreak", "tab\t", "\x1f", "del\x7f", strings.Repeat("x", 257)} {
		_, err := s.Append(ctx, stream, evs(1, 0), eventstore.WithProducer(id, 0, 0))
		var perr *eventstore.ProducerError
		if !errors.Is(err, eventstore.ErrInvalidProducer) || !errors.As(err, &perr) || perr.Reason == "" {
			t.Errorf("Append with producer id %q: %v, want ErrInvalidProducer", id, err)
		}
		if p, err := s.Producer(context.Background(), stream, id); !errors.Is(err, eventstore.ErrInvalidProducer) {
			t.Errorf("Producer(%q): %v, want ErrInvalidProducer", id, err)
			if p != nil {
				p.Close(ctx)
			}
		}
	}
	if got := prodReadData(t, s, stream); len(got) != 0 {
		t.Fatalf("stored %q after refused appends", got)
	}
	// The limits are inclusive: 256 bytes and any printable UTF-8 are ids.
	for i, id := range []string{strings.Repeat("x", 256), "é/ü 日本 ✓", "a b.c*>"} {
		res, err := s.Append(ctx, stream, evs(1, i), eventstore.WithProducer(id, 0, 0))
		if err != nil || res.Duplicate {
			t.Fatalf("Append with producer id %q: duplicate %v, %v", id, res.Duplicate, err)
		}
	}
}

// TestProducerStateSurvivesRestart checks that the producer state is
// stored with the data: after Close and Open, and after the read index is
// deleted and rebuilt from the log, duplicates are still recognised, stale
// epochs still refused and the next sequence number still expected.
func TestProducerStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	for _, dropIndex := range []bool{false, true} {
		t.Run(fmt.Sprintf("drop index %v", dropIndex), func(t *testing.T) {
			s, dir := openStore(t)
			const stream = "restart/1"
			for _, st := range append(prodSteps(0, 0, 4), prodSteps(1, 0, 2)...) {
				if _, err := s.Append(ctx, stream, []eventstore.Event{st.event()}, eventstore.WithProducer("p", st.epoch, st.seq)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Append(ctx, stream, []eventstore.Event{prodStep{3, 0}.event()}, eventstore.WithProducer("q", 3, 0)); err != nil {
				t.Fatal(err)
			}
			before := prodReadData(t, s, stream)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if dropIndex {
				if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
					t.Fatal(err)
				}
			}
			s = prodReopenStore(t, s, dir)
			version := uint64(len(before))
			for _, c := range []struct {
				id   string
				try  prodStep
				want prodWant
			}{
				{"p", prodStep{1, 2}, wantDuplicate(1, 2)},
				{"p", prodStep{1, 0}, wantDuplicate(1, 2)},
				{"p", prodStep{0, 5}, wantStale(1)},
				{"p", prodStep{1, 4}, wantGap(3)},
				{"p", prodStep{2, 1}, wantInvalid},
				{"q", prodStep{3, 0}, wantDuplicate(3, 0)},
				{"q", prodStep{2, 0}, wantStale(3)},
			} {
				res, err := s.Append(ctx, stream, []eventstore.Event{c.try.event()}, eventstore.WithProducer(c.id, c.try.epoch, c.try.seq))
				checkProducerOutcome(t, stream, c.id, c.try, c.want, version, res, err)
			}
			if got := prodReadData(t, s, stream); !slices.Equal(got, before) {
				t.Fatalf("after reopen: stored %q, want %q", got, before)
			}
			res, err := s.Append(ctx, stream, []eventstore.Event{prodStep{1, 3}.event()}, eventstore.WithProducer("p", 1, 3))
			checkProducerOutcome(t, stream, "p", prodStep{1, 3}, wantStored(1, 3), version, res, err)
			if got := prodReadAllData(t, s)[stream]; !slices.Equal(got, append(before, "e1/s3")) {
				t.Fatalf("the log holds %q", got)
			}
		})
	}
}

// TestProducerStatePerStream checks that one producer id on two streams
// has two independent states.
func TestProducerStatePerStream(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	for _, st := range prodSteps(4, 0, 3) {
		if _, err := s.Append(ctx, "per/a", []eventstore.Event{st.event()}, eventstore.WithProducer("p", st.epoch, st.seq)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		try  prodStep
		want prodWant
	}{
		{prodStep{4, 4}, wantGap(0)},       // unknown on per/b: a's seq 3 does not count
		{prodStep{1, 0}, wantStored(1, 0)}, // a's epoch 4 does not fence b's epoch 1
		{prodStep{1, 0}, wantDuplicate(1, 0)},
		{prodStep{1, 1}, wantStored(1, 1)},
	} {
		version := uint64(len(prodReadData(t, s, "per/b")))
		res, err := s.Append(ctx, "per/b", []eventstore.Event{c.try.event()}, eventstore.WithProducer("p", c.try.epoch, c.try.seq))
		checkProducerOutcome(t, "per/b", "p", c.try, c.want, version, res, err)
	}
	res, err := s.Append(ctx, "per/a", []eventstore.Event{prodStep{4, 4}.event()}, eventstore.WithProducer("p", 4, 4))
	checkProducerOutcome(t, "per/a", "p", prodStep{4, 4}, wantStored(4, 4), 4, res, err)
	if got, want := prodReadData(t, s, "per/b"), []string{"e1/s0", "e1/s1"}; !slices.Equal(got, want) {
		t.Fatalf("per/b holds %q, want %q", got, want)
	}
}

// TestProducerExpectVersion checks an append carrying both a producer mark
// and an expected version: a duplicate is answered before the version is
// checked (a retry of a stored append succeeds whatever the stream did
// since), and otherwise both checks must hold.
func TestProducerExpectVersion(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	const stream = "expect/1"
	app := func(st prodStep, opts ...eventstore.AppendOption) (eventstore.AppendResult, error) {
		opts = append(opts, eventstore.WithProducer("p", st.epoch, st.seq))
		return s.Append(ctx, stream, []eventstore.Event{st.event()}, opts...)
	}
	if _, err := app(prodStep{0, 0}, eventstore.ExpectNoStream()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, stream, evs(2, 0)); err != nil { // version 3
		t.Fatal(err)
	}
	// The retry of seq 0 expected no stream: a duplicate, not a conflict.
	res, err := app(prodStep{0, 0}, eventstore.ExpectNoStream())
	checkProducerOutcome(t, stream, "p", prodStep{0, 0}, wantDuplicate(0, 0), 3, res, err)
	res, err = app(prodStep{0, 0}, eventstore.ExpectVersion(99))
	checkProducerOutcome(t, stream, "p", prodStep{0, 0}, wantDuplicate(0, 0), 3, res, err)

	// Not a duplicate, wrong version: a conflict, nothing stored, and the
	// producer state does not move.
	for _, v := range []uint64{0, 1, 2, 4} {
		_, err := app(prodStep{0, 1}, eventstore.ExpectVersion(v))
		var cerr *eventstore.ConcurrencyError
		if !errors.As(err, &cerr) || !errors.Is(err, eventstore.ErrConcurrency) || cerr.Expected != v || cerr.Actual != 3 {
			t.Fatalf("seq 1 expecting version %d: %v, want a conflict at version 3", v, err)
		}
	}
	// Producer refusals come first, whatever the version.
	_, err = app(prodStep{0, 2}, eventstore.ExpectVersion(3))
	if !errors.Is(err, eventstore.ErrSequenceGap) {
		t.Fatalf("seq 2 expecting the right version: %v, want ErrSequenceGap (expected 1)", err)
	}
	_, err = app(prodStep{0, 2}, eventstore.ExpectVersion(7))
	if !errors.Is(err, eventstore.ErrSequenceGap) {
		t.Fatalf("seq 2 expecting a wrong version: %v, want ErrSequenceGap", err)
	}
	// Both hold: stored.
	res, err = app(prodStep{0, 1}, eventstore.ExpectVersion(3))
	checkProducerOutcome(t, stream, "p", prodStep{0, 1}, wantStored(0, 1), 3, res, err)
	// A new epoch with a wrong version is refused and does not fence.
	_, err = app(prodStep{1, 0}, eventstore.ExpectVersion(3))
	if !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("new epoch expecting a wrong version: %v, want ErrConcurrency", err)
	}
	res, err = app(prodStep{0, 2}, eventstore.ExpectVersion(4))
	checkProducerOutcome(t, stream, "p", prodStep{0, 2}, wantStored(0, 2), 4, res, err)

	want := []string{"e0/s0", `{"n":0}`, `{"n":1}`, "e0/s1", "e0/s2"}
	if got := prodReadData(t, s, stream); !slices.Equal(got, want) {
		t.Fatalf("stored %q, want %q", got, want)
	}
}

// TestProducerConcurrent runs producers and plain appenders on one stream
// at once, each producer from two goroutines that send the same sequence
// numbers (a producer racing its own retries): every (producer, seq) is
// accepted exactly once and stored exactly once, in order, and the
// stream's versions have no hole. With two stores on one log (as two
// processes), each producer's two senders use different stores.
func TestProducerConcurrent(t *testing.T) {
	t.Run("one store", func(t *testing.T) {
		s, _ := openStore(t)
		testProducerConcurrent(t, s, s)
	})
	t.Run("two stores", func(t *testing.T) {
		a, _ := openStore(t, eventstore.WithListen("127.0.0.1", 0))
		b, err := eventstore.Connect(context.Background(), a.ClientURL(), eventstore.WithIndexDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		testProducerConcurrent(t, a, b)
	})
}

func testProducerConcurrent(t *testing.T, a, b *eventstore.Store) {
	ctx := context.Background()
	const (
		stream    = "concurrent/1"
		producers = 4
		senders   = 2 // goroutines per producer
		appends   = 150
		plain     = 3 // plain appenders
	)
	type key struct {
		id  string
		seq uint64
	}
	var mu sync.Mutex
	accepted := map[key]int{}
	var wg sync.WaitGroup
	errs := make(chan error, producers*senders+plain)
	for p := range producers {
		id := fmt.Sprintf("p%d", p)
		for sender := range senders {
			s := []*eventstore.Store{a, b}[sender%2]
			wg.Go(func() {
				for seq := range uint64(appends) {
					e := ev("Produced", fmt.Sprintf("%s/%d", id, seq))
					res, err := s.Append(ctx, stream, []eventstore.Event{e}, eventstore.WithProducer(id, 0, seq))
					if err != nil {
						errs <- fmt.Errorf("%s seq %d (store %d): %w", id, seq, sender%2, err)
						return
					}
					if !res.Duplicate {
						mu.Lock()
						accepted[key{id, seq}]++
						mu.Unlock()
					} else if res.ProducerSeq < seq {
						errs <- fmt.Errorf("%s seq %d: duplicate with last seq %d", id, seq, res.ProducerSeq)
						return
					}
				}
			})
		}
	}
	for n := range plain {
		s := []*eventstore.Store{a, b}[n%2]
		wg.Go(func() {
			for i := range appends {
				if _, err := s.Append(ctx, stream, []eventstore.Event{ev("Plain", fmt.Sprintf("plain%d/%d", n, i))}); err != nil {
					errs <- fmt.Errorf("plain%d (store %d): %w", n, n%2, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for p := range producers {
		for seq := range uint64(appends) {
			if n := accepted[key{fmt.Sprintf("p%d", p), seq}]; n != 1 {
				t.Errorf("p%d seq %d accepted %d times", p, seq, n)
			}
		}
	}
	check := func(how string, data []string) {
		t.Helper()
		if len(data) != producers*appends+plain*appends {
			t.Errorf("%s: %d events, want %d", how, len(data), producers*appends+plain*appends)
		}
		next := map[string]int{}
		for _, d := range data {
			src, n, _ := strings.Cut(d, "/")
			if want := fmt.Sprint(next[src]); n != want {
				t.Fatalf("%s: %s, want %s/%s", how, d, src, want)
			}
			next[src]++
		}
	}
	for _, s := range []*eventstore.Store{a, b} {
		check("Read", prodReadData(t, s, stream))
		check("ReadAll", prodReadAllData(t, s)[stream])
	}
}

// TestProducerClient appends through a Producer: every Append gets the next
// sequence number, Flush makes them durable, WithOnAck reports contiguous
// ranges of at most WithMaxBatch appends, and Close ends it.
func TestProducerClient(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	const stream, n, batch = "client/1", 1000, 7
	var mu sync.Mutex
	var acks []eventstore.ProducerAck
	p, err := s.Producer(context.Background(), stream, "c", eventstore.WithEpoch(3), eventstore.WithMaxBatch(batch), eventstore.WithMaxInFlight(50),
		eventstore.WithOnAck(func(a eventstore.ProducerAck) {
			mu.Lock()
			acks = append(acks, a)
			mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(ctx) })
	var want []string
	for i := range n {
		k := 1 + i%3 // appends of 1 to 3 events
		events := evs(k, len(want))
		for _, e := range events {
			want = append(want, string(e.Data))
		}
		seq, err := p.Append(ctx, events...)
		if err != nil || seq != uint64(i) {
			t.Fatalf("append %d: seq %d, %v", i, seq, err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if epoch, next := p.Acked(); epoch != 3 || next != n {
		t.Fatalf("Acked() = %d, %d; want 3, %d", epoch, next, n)
	}
	if got := prodReadData(t, s, stream); !slices.Equal(got, want) {
		t.Fatalf("stored %d events, want %d", len(got), len(want))
	}
	mu.Lock()
	next, version := uint64(0), uint64(0)
	for _, a := range acks {
		if a.Epoch != 3 || a.FirstSeq != next || a.LastSeq < a.FirstSeq || a.LastSeq-a.FirstSeq >= batch || a.Duplicate {
			t.Fatalf("ack %+v after seq %d", a, next)
		}
		if a.Result.FirstVersion != version+1 || a.Result.ProducerEpoch != 3 || a.Result.ProducerSeq != a.LastSeq {
			t.Fatalf("ack %+v: result after version %d", a, version)
		}
		next, version = a.LastSeq+1, a.Result.Version
	}
	mu.Unlock()
	if next != n || version != uint64(len(want)) {
		t.Fatalf("acks end at seq %d, version %d; want %d, %d", next, version, n, len(want))
	}
	if err := p.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := p.Append(ctx, evs(1, 0)...); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("append after close: %v, want ErrClosed", err)
	}
	// The Producer's appends are producer appends like any other.
	res, err := s.Append(ctx, stream, evs(1, 0), eventstore.WithProducer("c", 3, n-1))
	checkProducerOutcome(t, stream, "c", prodStep{3, n - 1}, wantDuplicate(3, n-1), uint64(len(want)), res, err)
}

// TestProducerClientErrors checks that a refused commit stops the producer
// and that its error is reported by Flush, by every later Append and by
// Close, and that nothing after it is stored.
func TestProducerClientErrors(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	cases := []struct {
		name string
		opts []eventstore.ProducerOption
		bad  []eventstore.Event // appended after a good one, nil: none
		want error
	}{
		{"gap on an unknown producer", []eventstore.ProducerOption{eventstore.WithResume(0, 5)}, nil, eventstore.ErrSequenceGap},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stream := fmt.Sprintf("client/errors/%d", i)
			p, err := s.Producer(context.Background(), stream, "c", tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close(ctx) })
			if _, err := p.Append(ctx, ev("Good", "good")); err != nil {
				t.Fatal(err)
			}
			if tc.bad != nil {
				if _, err := p.Append(ctx, tc.bad...); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Flush(ctx); !errors.Is(err, tc.want) {
				t.Fatalf("flush: %v, want %v", err, tc.want)
			}
			if _, err := p.Append(ctx, ev("After", "after")); !errors.Is(err, tc.want) {
				t.Fatalf("append after the error: %v, want %v", err, tc.want)
			}
			if err := p.Close(ctx); !errors.Is(err, tc.want) {
				t.Fatalf("close: %v, want %v", err, tc.want)
			}
			for _, d := range prodReadData(t, s, stream) {
				if d != "good" {
					t.Fatalf("stored %q", d)
				}
			}
		})
	}
	t.Run("invalid event", func(t *testing.T) {
		// A bad event is refused by Append itself; the producer goes on and
		// the good appends around it are stored.
		stream := "client/errors/invalid"
		p, err := s.Producer(context.Background(), stream, "c")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Append(ctx, ev("Good", "good")); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Append(ctx, eventstore.Event{Data: []byte("no type")}); !errors.Is(err, eventstore.ErrInvalidEvent) {
			t.Fatalf("append of an event without a type: %v, want ErrInvalidEvent", err)
		}
		if seq, err := p.Append(ctx, ev("Good", "good")); err != nil || seq != 1 {
			t.Fatalf("append after the refusal: seq %d, %v; want seq 1", seq, err)
		}
		if err := p.Close(ctx); err != nil {
			t.Fatalf("close: %v", err)
		}
		if got := prodReadData(t, s, stream); len(got) != 2 || got[0] != "good" || got[1] != "good" {
			t.Fatalf("stored %q, want the two good events", got)
		}
	})
	t.Run("closed stream", func(t *testing.T) {
		// A closed stream refuses every later append: the producer stops
		// with ErrStreamClosed rather than resend the commit until its
		// ctx ends, as if its outcome were unknown.
		stream := "client/errors/closed"
		if _, err := s.Append(ctx, stream, nil, eventstore.WithClose()); err != nil {
			t.Fatal(err)
		}
		p, err := s.Producer(context.Background(), stream, "c")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Append(ctx, ev("Late", "late")); err != nil {
			t.Fatal(err)
		}
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := p.Flush(fctx); !errors.Is(err, eventstore.ErrStreamClosed) {
			t.Fatalf("flush: %v, want ErrStreamClosed", err)
		}
		if err := p.Close(ctx); !errors.Is(err, eventstore.ErrStreamClosed) {
			t.Fatalf("close: %v, want ErrStreamClosed", err)
		}
	})
	if _, err := s.Producer(context.Background(), "client/errors/x", "c", eventstore.WithMaxBatch(0)); !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Fatalf("WithMaxBatch(0): %v", err)
	}
	if _, err := s.Producer(context.Background(), "client/errors/x", "c", eventstore.WithMaxInFlight(0)); !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Fatalf("WithMaxInFlight(0): %v", err)
	}
	if _, err := s.Producer(context.Background(), "bad//name", "c"); !errors.Is(err, eventstore.ErrInvalidStreamName) {
		t.Fatalf("Producer on a bad stream name: %v", err)
	}
}

// TestProducerClientFenced checks fencing between two instances of one
// producer in one process: once the instance with the higher epoch has
// stored something, the older one's next commit fails with ErrStaleEpoch,
// reported by Flush and Append, and stores nothing.
func TestProducerClientFenced(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	const stream = "client/fenced"
	old, err := s.Producer(context.Background(), stream, "p")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { old.Close(ctx) })
	for i := range 10 {
		if _, err := old.Append(ctx, ev("Old", fmt.Sprint("old", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	fresh, err := s.Producer(context.Background(), stream, "p", eventstore.WithEpoch(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fresh.Close(ctx) })
	if _, err := fresh.Append(ctx, ev("New", "new0")); err != nil {
		t.Fatal(err)
	}
	if err := fresh.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Append(ctx, ev("Old", "old10")); err != nil {
		t.Fatal(err) // queued: the store has not answered yet
	}
	err = old.Flush(ctx)
	var perr *eventstore.ProducerError
	if !errors.Is(err, eventstore.ErrStaleEpoch) || !errors.As(err, &perr) || perr.CurrentEpoch != 1 || perr.Epoch != 0 {
		t.Fatalf("old flush: %v, want ErrStaleEpoch with current epoch 1", err)
	}
	if _, err := old.Append(ctx, ev("Old", "old11")); !errors.Is(err, eventstore.ErrStaleEpoch) {
		t.Fatalf("old append: %v, want ErrStaleEpoch", err)
	}
	if _, err := fresh.Append(ctx, ev("New", "new1")); err != nil {
		t.Fatal(err)
	}
	if err := fresh.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"old0", "old1", "old2", "old3", "old4", "old5", "old6", "old7", "old8", "old9", "new0", "new1"}
	if got := prodReadData(t, s, stream); !slices.Equal(got, want) {
		t.Fatalf("stored %q, want %q", got, want)
	}
}

// TestProducerClientAutoClaim checks WithAutoClaim: a fenced producer takes
// the epoch after the stored one and stores what it had queued, numbered
// from 0, and in turn fences the instance that fenced it.
func TestProducerClientAutoClaim(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	const stream = "client/autoclaim"
	var mu sync.Mutex
	var acks []eventstore.ProducerAck
	a, err := s.Producer(context.Background(), stream, "p", eventstore.WithAutoClaim(), eventstore.WithOnAck(func(x eventstore.ProducerAck) {
		mu.Lock()
		acks = append(acks, x)
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(ctx) })
	for i := range 3 {
		if _, err := a.Append(ctx, ev("A", fmt.Sprint("a", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Another instance claims epoch 5.
	if _, err := s.Append(ctx, stream, []eventstore.Event{ev("B", "b0")}, eventstore.WithProducer("p", 5, 0)); err != nil {
		t.Fatal(err)
	}
	for i := 3; i < 8; i++ {
		if _, err := a.Append(ctx, ev("A", fmt.Sprint("a", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatalf("flush after being fenced, with auto claim: %v", err)
	}
	if epoch, next := a.Acked(); epoch != 6 || next != 5 {
		t.Fatalf("Acked() = %d, %d; want 6, 5", epoch, next)
	}
	want := []string{"a0", "a1", "a2", "b0", "a3", "a4", "a5", "a6", "a7"}
	if got := prodReadData(t, s, stream); !slices.Equal(got, want) {
		t.Fatalf("stored %q, want %q", got, want)
	}
	mu.Lock()
	next := map[uint64]uint64{}
	for _, x := range acks {
		if x.FirstSeq != next[x.Epoch] || x.Duplicate || x.Epoch != 0 && x.Epoch != 6 {
			t.Fatalf("ack %+v", x)
		}
		next[x.Epoch] = x.LastSeq + 1
	}
	mu.Unlock()
	if next[0] != 3 || next[6] != 5 {
		t.Fatalf("acked %v, want epoch 0 to seq 3 and epoch 6 to seq 5", next)
	}
	// The claimed epoch is stored: the instance at epoch 5 is now stale.
	_, err = s.Append(ctx, stream, []eventstore.Event{ev("B", "b1")}, eventstore.WithProducer("p", 5, 1))
	checkProducerOutcome(t, stream, "p", prodStep{5, 1}, wantStale(6), 0, eventstore.AppendResult{}, err)
	res, err := s.Append(ctx, stream, []eventstore.Event{ev("A", "a7")}, eventstore.WithProducer("p", 6, 4))
	checkProducerOutcome(t, stream, "p", prodStep{6, 4}, wantDuplicate(6, 4), uint64(len(want)), res, err)
}

// TestProducerClientResume checks WithNextSeq: a producer that resumes its
// epoch after a crash and resends what it had sent, with the same numbers,
// gets duplicates for what was stored and stores the rest once.
func TestProducerClientResume(t *testing.T) {
	ctx := context.Background()
	s, dir := openStore(t)
	const stream = "client/resume"
	data := func(seq int) eventstore.Event { return ev("R", fmt.Sprint("r", seq)) }
	run := func(from, to int, opts ...eventstore.ProducerOption) []eventstore.ProducerAck {
		t.Helper()
		var acks []eventstore.ProducerAck
		opts = append(opts, eventstore.WithResume(0, uint64(from)), eventstore.WithOnAck(func(a eventstore.ProducerAck) {
			acks = append(acks, a) // read after Close, which waits for the sender
		}))
		p, err := s.Producer(context.Background(), stream, "p", opts...)
		if err != nil {
			t.Fatal(err)
		}
		for i := from; i < to; i++ {
			if seq, err := p.Append(ctx, data(i)); err != nil || seq != uint64(i) {
				t.Fatalf("append %d: seq %d, %v", i, seq, err)
			}
		}
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
		return acks
	}
	run(0, 10)
	// Resend 5..9 only: all duplicates.
	for _, a := range run(5, 10) {
		if !a.Duplicate || a.Result.ProducerSeq != 9 || a.Result.Version != 10 {
			t.Fatalf("resend of stored appends: ack %+v, want a duplicate", a)
		}
	}
	// Resend 7..9 and go on to 14 (in commits that mix both, or not).
	run(7, 15, eventstore.WithMaxBatch(4))
	// After a restart the same.
	s = prodReopenStore(t, s, dir)
	run(12, 20)
	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprint("r", i))
	}
	if got := prodReadData(t, s, stream); !slices.Equal(got, want) {
		t.Fatalf("stored %q, want %q", got, want)
	}
	// Resuming past the end is a gap, not a silent loss.
	p, err := s.Producer(context.Background(), stream, "p", eventstore.WithResume(0, 25))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Append(ctx, data(25)); err != nil {
		t.Fatal(err) // queued; the store answers later
	}
	if err := p.Close(ctx); !errors.Is(err, eventstore.ErrSequenceGap) {
		t.Fatalf("resume past the end: %v, want ErrSequenceGap", err)
	}
}

// TestProducerRulesTwoStores applies the rules through two stores on one
// log (one embedded and listening, one connected to it, as two processes
// would): each store must decide on the producer state the other one left,
// not on what it last saw itself.
func TestProducerRulesTwoStores(t *testing.T) {
	ctx := context.Background()
	a, _ := openStore(t, eventstore.WithListen("127.0.0.1", 0))
	b, err := eventstore.Connect(ctx, a.ClientURL(), eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	stores := map[string]*eventstore.Store{"A": a, "B": b}
	const stream = "two/1"
	var want []string
	for i, c := range []struct {
		store string
		try   prodStep
		want  prodWant
	}{
		{"A", prodStep{0, 0}, wantStored(0, 0)},
		{"A", prodStep{0, 1}, wantStored(0, 1)},
		{"A", prodStep{0, 2}, wantStored(0, 2)},
		{"B", prodStep{0, 2}, wantDuplicate(0, 2)},
		{"B", prodStep{0, 4}, wantGap(3)},
		{"B", prodStep{1, 0}, wantStored(1, 0)}, // B claims epoch 1
		{"A", prodStep{0, 3}, wantStale(1)},     // A's next append is fenced
		{"A", prodStep{1, 0}, wantDuplicate(1, 0)},
		{"B", prodStep{1, 1}, wantStored(1, 1)},
		{"A", prodStep{1, 1}, wantDuplicate(1, 1)},
		{"A", prodStep{1, 3}, wantGap(2)},
		{"B", prodStep{2, 0}, wantStored(2, 0)}, // B claims epoch 2
		// A last saw epoch 1 up to seq 1: a retry of its seq 0 must be
		// fenced, not answered from what A remembers.
		{"A", prodStep{1, 0}, wantStale(2)},
		{"A", prodStep{2, 0}, wantDuplicate(2, 0)},
	} {
		name := fmt.Sprintf("%d %s e%d s%d", i, c.store, c.try.epoch, c.try.seq)
		t.Run(name, func(t *testing.T) {
			res, err := stores[c.store].Append(ctx, stream, []eventstore.Event{c.try.event()}, eventstore.WithProducer("p", c.try.epoch, c.try.seq))
			checkProducerOutcome(t, stream, "p", c.try, c.want, uint64(len(want)), res, err)
		})
		if c.want.kind == nil && !c.want.duplicate {
			want = append(want, c.try.data())
		}
	}
	for name, s := range stores {
		if got := prodReadData(t, s, stream); !slices.Equal(got, want) {
			t.Errorf("%s reads %q, want %q", name, got, want)
		}
	}
}

// TestProducerTwoStoresContention appends as a producer through a
// connected store while the embedded store's own goroutines append to the
// same stream: every producer append must be stored (the store retries a
// commit that lost the race to the other writer). The embedded store's
// appenders pause 5 ms between appends: without a pause, four appenders
// beside the server win nearly every race against a writer two round trips
// (catch up, publish) further away, which is what optimistic concurrency
// on one hot stream does, and the test's run time would be down to luck
// (from 2 s to minutes). The other way round holds too: the producer
// appends back to back, and an embedded append that lost one race (catch
// up, pause, publish again) can keep losing, with the other three queued
// behind it on the stream's lock, until the producer stops. So the
// producer waits, every 100 appends, for plain appends to go through:
// five of them, since at most four were under way when it began to wait.
// Each such pause puts plain events between the producer's and makes the
// producer's next append lose a race, whatever the timing.
func TestProducerTwoStoresContention(t *testing.T) {
	ctx := context.Background()
	a, _ := openStore(t, eventstore.WithListen("127.0.0.1", 0))
	b, err := eventstore.Connect(ctx, a.ClientURL(), eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	const stream, appends = "contention/1", 500
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var plain atomic.Int64 // plain appends stored
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := a.Append(ctx, stream, []eventstore.Event{ev("Plain", "plain")}); err != nil {
					t.Error(err)
					return
				}
				plain.Add(1)
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	failed := 0
	for seq := range uint64(appends) {
		if seq%100 == 50 {
			n := plain.Load()
			for deadline := time.Now().Add(10 * time.Second); plain.Load() < n+5; time.Sleep(100 * time.Microsecond) {
				if time.Now().After(deadline) {
					close(stop)
					wg.Wait()
					t.Fatalf("producer seq %d: plain appends did not go through in 10 s", seq)
				}
			}
		}
		_, err := b.Append(ctx, stream, []eventstore.Event{ev("Produced", fmt.Sprint(seq))}, eventstore.WithProducer("p", 0, seq))
		if err != nil {
			failed++
			if failed == 1 {
				t.Errorf("producer seq %d: %v", seq, err)
			}
			// The outcome is not unknown: nothing was stored. Retry
			// until it goes through, to go on.
			for err != nil {
				_, err = b.Append(ctx, stream, []eventstore.Event{ev("Produced", fmt.Sprint(seq))}, eventstore.WithProducer("p", 0, seq))
			}
		}
	}
	close(stop)
	wg.Wait()
	if failed > 0 {
		t.Errorf("%d of %d producer appends failed while another store appended to the stream", failed, appends)
	}
	var produced []string
	interleaved := 0 // plain events between two producer events
	for _, e := range collect(t, b.Read(ctx, stream)) {
		switch {
		case e.Type == "Produced":
			produced = append(produced, string(e.Data))
		case len(produced) > 0 && len(produced) < appends:
			interleaved++
		}
	}
	if len(produced) != appends {
		t.Fatalf("the stream holds %d producer events, want %d", len(produced), appends)
	}
	for i, d := range produced {
		if d != fmt.Sprint(i) {
			t.Fatalf("producer event %d holds %q, want %q", i, d, fmt.Sprint(i))
		}
	}
	if interleaved == 0 {
		t.Errorf("no plain event between the producer's: the two stores did not contend")
	}
}

// TestProducerAfterTheLastEpoch: an append WithProducer may take the
// largest epoch, after which no epoch is newer. A new Producer then fails
// at once, saying so, rather than wrapping to epoch 0 (a stale epoch); with
// WithAutoClaim its Flush fails with ErrStaleEpoch rather than claiming
// epoch 0 again and again and never returning.
func TestProducerAfterTheLastEpoch(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	const stream = "client/lastepoch"
	if _, err := s.Append(ctx, stream, []eventstore.Event{ev("Max", "max")}, eventstore.WithProducer("m", math.MaxUint64, 0)); err != nil {
		t.Fatal(err)
	}
	_, err := s.Producer(ctx, stream, "m")
	if !errors.Is(err, eventstore.ErrInvalidProducer) || !strings.Contains(err.Error(), "last epoch") {
		t.Fatalf("Producer after the last epoch: %v, want ErrInvalidProducer naming the last epoch", err)
	}
	// WithEpoch(0) as a client that wrapped its count would: the store
	// refuses it as stale, and auto-claim has no newer epoch to claim.
	p, err := s.Producer(ctx, stream, "m", eventstore.WithEpoch(0), eventstore.WithAutoClaim())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Append(ctx, ev("After", "after")); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.Flush(fctx); !errors.Is(err, eventstore.ErrStaleEpoch) {
		t.Fatalf("Flush with auto-claim after the last epoch: %v, want ErrStaleEpoch", err)
	}
	p.Close(ctx)
	if h, err := s.Head(ctx, stream); err != nil || h.Version != 1 {
		t.Fatalf("head %+v, %v: want the one event", h, err)
	}
}
