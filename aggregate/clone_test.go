package aggregate_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"math"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/aggregate"
)

// meanState is a state JSON cannot always carry: Mean is NaN until a sample
// has a weight.
type meanState struct {
	Counts map[string]int
	Mean   float64
}

type meanEvent interface{ isMeanEvent() }

type counted struct{ Key string }

func (counted) isMeanEvent() {}

func meanDef() *aggregate.Definition[meanState, meanEvent] {
	d := aggregate.Define[meanState, meanEvent]("meanState", meanState{Counts: map[string]int{}})
	aggregate.On(d, "Counted", func(s meanState, e counted) meanState {
		if s.Counts == nil {
			s.Counts = map[string]int{}
		}
		s.Counts[e.Key]++
		s.Mean = math.NaN()
		return s
	})
	return d
}

func count(key string) func(meanState) ([]meanEvent, error) {
	return func(meanState) ([]meanEvent, error) { return []meanEvent{counted{key}}, nil }
}

// A state the state codec cannot copy is never handed to a decider: the
// command fails with ErrStateCopy, naming WithClone, before the decider
// runs, so no decider can write into the cached state (the old copy gave
// the state itself, and a later command decided on a key the stream never
// held).
func TestStateWithoutCopyFailsCommand(t *testing.T) {
	ctx := context.Background()
	for _, cache := range []int{10, 0} {
		s := openStore(t)
		opts := []aggregate.Option{aggregate.WithLogger(quietLogger())}
		if cache == 0 {
			opts = append(opts, aggregate.WithCache(0))
		}
		r, err := aggregate.NewRepository(s, meanDef(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := r.Handle(ctx, "x", count("a")); err != nil {
			t.Fatalf("cache %d: first command: %v", cache, err)
		}
		ran := false
		_, err = r.Handle(ctx, "x", func(s meanState) ([]meanEvent, error) {
			ran = true
			s.Counts["evil"] = 100
			return []meanEvent{counted{"a"}}, nil
		})
		if !errors.Is(err, aggregate.ErrStateCopy) || !strings.Contains(err.Error(), "WithClone") {
			t.Fatalf("cache %d: command on a state with no copy: %v, want ErrStateCopy naming WithClone", cache, err)
		}
		if ran {
			t.Errorf("cache %d: the decider ran on a state with no copy", cache)
		}
		var seen map[string]int
		r.Handle(ctx, "x", func(s meanState) ([]meanEvent, error) {
			seen = maps.Clone(s.Counts)
			return nil, nil
		})
		if seen["evil"] != 0 {
			t.Errorf("cache %d: a later decider saw an earlier one's write: %v", cache, seen)
		}
		l, err := r.Load(ctx, "x")
		if err != nil || l.Version != 1 || l.State.Counts["a"] != 1 || l.State.Counts["evil"] != 0 {
			t.Errorf("cache %d: Load = %+v, %v; want version 1, a=1", cache, l, err)
		}
	}
}

// WithClone is the way out: a state the codec cannot carry is copied by
// the user's function, and deciders still cannot change the cached one.
func TestWithCloneCopiesStateCodecCannot(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	r, err := aggregate.NewRepository(s, meanDef(), aggregate.WithLogger(quietLogger()),
		aggregate.WithClone(func(s meanState) meanState { s.Counts = maps.Clone(s.Counts); return s }))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i, decide := range []func(meanState) ([]meanEvent, error){count("a"), func(s meanState) ([]meanEvent, error) {
		s.Counts["evil"] = 100
		return []meanEvent{counted{"a"}}, nil
	}} {
		if _, err := r.Handle(ctx, "x", decide); err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
	}
	var seen map[string]int
	if _, err := r.Handle(ctx, "x", func(s meanState) ([]meanEvent, error) {
		seen = maps.Clone(s.Counts)
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if seen["evil"] != 0 || seen["a"] != 2 {
		t.Errorf("decider saw %v, want a=2 only", seen)
	}
}

// quietLogger drops every log line: the snapshots of a state the codec
// cannot encode are refused, by design, in these tests.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
