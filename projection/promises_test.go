package projection_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/checkpoint"
	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/projection"
)

// TestAppendAfterStartIsLive: Start notes the log's tail before it
// returns (Status.LiveFrom), so an event appended once Start has returned
// comes in a batch that is not Replay: a handler that fires side effects
// only on live batches fires them for it. The same after Rebuild returns.
func TestAppendAfterStartIsLive(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	appendN(t, s, "live/old", 3)
	r := projection.NewRunner(s, nil)
	defer r.Close()
	for i := range 10 {
		name := fmt.Sprintf("p%d", i)
		model := &memModel{}
		if err := r.Start(ctx, projection.Projection{Name: name, Source: projection.Category("live"),
			Sink: projection.AtLeastOnce(name, model, &checkpoint.Memory{})}); err != nil {
			t.Fatal(err)
		}
		if st, _ := r.Status(name); st.LiveFrom == "" {
			t.Fatalf("%s: no LiveFrom once Start has returned: %+v", name, st)
		}
		res, err := s.Append(ctx, "live/new", []eventstore.Event{{Type: "Counted"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.WaitCaughtUp(ctx, name); err != nil {
			t.Fatal(err)
		}
		got := model.snapshot()
		if len(got) != 4+i || got[len(got)-1].Offset != res.Offset() {
			t.Fatalf("%s: %d events, want %d ending with the new one", name, len(got), 4+i)
		}
		if model.replays != len(got)-1 {
			st, _ := r.Status(name)
			t.Fatalf("%s: %d of %d events came as Replay, want all but the one appended after Start (LiveFrom %s, appended at %s)",
				name, model.replays, len(got), st.LiveFrom, res.Offset())
		}
		r.Stop(name)
	}

	model := &memModel{}
	if err := projection.Rebuild(ctx, r, projection.Projection{Name: "rebuilt", Source: projection.Category("live"),
		Sink: projection.AtLeastOnce("rebuilt", model, &checkpoint.Memory{})}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "live/new", []eventstore.Event{{Type: "Counted"}}); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitCaughtUp(ctx, "rebuilt"); err != nil {
		t.Fatal(err)
	}
	if got := model.snapshot(); len(got) != 14 || model.replays != 13 {
		t.Fatalf("after Rebuild: %d events, %d as Replay; want 14, 13", len(got), model.replays)
	}
}

// TestSourceThatNamesNothingIsRefused: an empty category, an empty or
// too long list of streams, or a name no stream can have is refused by
// Start, Replay and Rebuild, before anything is read; an empty value
// never turns a projection into one of the whole log.
func TestSourceThatNamesNothingIsRefused(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	if _, err := s.Append(ctx, "secrets/1", []eventstore.Event{{Type: "Secret"}}); err != nil {
		t.Fatal(err)
	}
	r := projection.NewRunner(s, nil)
	defer r.Close()
	many := make([]string, eventstore.MaxListedStreams+1)
	for i := range many {
		many[i] = fmt.Sprintf("s/%d", i)
	}
	for what, c := range map[string]struct {
		src      projection.Source
		nameRule bool
	}{
		"Streams()":         {projection.Streams(), false},
		"Streams(1,001)":    {projection.Streams(many...), false},
		"Category(\"\")":    {projection.Category(""), true},
		"Category(\"a/b\")": {projection.Category("a/b"), true},
		"Streams(\"a//b\")": {projection.Streams("ok/1", "a//b"), true},
	} {
		model := &memModel{}
		p := projection.Projection{Name: "p", Source: c.src, Sink: projection.AtLeastOnce("p", model, &checkpoint.Memory{})}
		check := func(op string, err error) {
			t.Helper()
			if !errors.Is(err, eventstore.ErrInvalidOption) || c.nameRule != errors.Is(err, eventstore.ErrInvalidStreamName) || !strings.Contains(err.Error(), "source") {
				t.Errorf("%s of %s: %v; want ErrInvalidOption naming the source (and ErrInvalidStreamName: %v)", op, what, err, c.nameRule)
			}
		}
		check("Start", r.Start(ctx, p))
		check("Replay", projection.Replay(ctx, s, p, nil))
		check("Rebuild", projection.Rebuild(ctx, r, p, nil))
		if got := model.snapshot(); len(got) != 0 {
			t.Errorf("%s: the refused projection was handed %d events", what, len(got))
		}
	}
}

// TestTypesMovePositionPastOthers: with Types, the position moves past
// the events the projection does not take: Status.Position at once, the
// saved checkpoint about a second after it first moved, and at Stop; a
// restart reads none of them again.
func TestTypesMovePositionPastOthers(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	r, cps, model := startWanted(t, s, "wanted", "t")
	var last eventstore.Offset
	for _, typ := range []string{"Wanted", "Other", "Other", "Other"} {
		res, err := s.Append(ctx, "t/1", []eventstore.Event{{Type: typ}})
		if err != nil {
			t.Fatal(err)
		}
		last = res.Offset()
	}
	if err := r.WaitCaughtUp(ctx, "wanted"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := r.Status("wanted")
		cp, err := cps.Load(ctx, "wanted")
		if err != nil {
			t.Fatal(err)
		}
		if st.Position == last && cp.Offset == last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("position %s, saved %s; want both at the last event passed over, %s", st.Position, cp.Offset, last)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Stopped before the feed was idle for a second: the position is
	// saved as it stops.
	res, err := s.Append(ctx, "t/1", []eventstore.Event{{Type: "Other"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WaitCaughtUp(ctx, "wanted"); err != nil {
		t.Fatal(err)
	}
	for st, _ := r.Status("wanted"); st.Position != res.Offset(); st, _ = r.Status("wanted") {
		time.Sleep(10 * time.Millisecond)
	}
	r.Stop("wanted")
	if cp, err := cps.Load(ctx, "wanted"); err != nil || cp.Offset != res.Offset() {
		t.Fatalf("saved after Stop: %s, %v; want %s", cp.Offset, err, res.Offset())
	}
	if n := len(model.snapshot()); n != 1 {
		t.Fatalf("handed %d events, want the one Wanted", n)
	}
}

// TestTypesPositionSavedOnABusyLog: on a log that never stays idle for a
// second, the position moved past events the projection does not take is
// still saved, about a second after it first moved, not only at Stop.
func TestTypesPositionSavedOnABusyLog(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	_, cps, _ := startWanted(t, s, "rare", "b")
	w, err := s.Append(ctx, "b/1", []eventstore.Event{{Type: "Wanted"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 8 { // an ignored event every 300 ms
		if _, err := s.Append(ctx, "b/2", []eventstore.Event{{Type: "Other"}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	cp, err := cps.Load(ctx, "rare")
	if err != nil {
		t.Fatal(err)
	}
	if cp.Offset <= w.Offset() {
		t.Fatalf("after 2.4 s of ignored events the saved position is %s, still at the last wanted event %s", cp.Offset, w.Offset())
	}
}

// startWanted starts, on a new runner closed with the test, a projection
// of category that takes only its "Wanted" events into a memModel and
// keeps its position in a checkpoint.Memory.
func startWanted(t *testing.T, s *eventstore.Store, name, category string) (*projection.Runner, *checkpoint.Memory, *memModel) {
	t.Helper()
	cps, model := &checkpoint.Memory{}, &memModel{}
	r := projection.NewRunner(s, nil)
	t.Cleanup(r.Close)
	if err := r.Start(context.Background(), projection.Projection{Name: name, Source: projection.Category(category),
		Types: []string{"Wanted"}, Sink: projection.AtLeastOnce(name, model, cps)}); err != nil {
		t.Fatal(err)
	}
	return r, cps, model
}
