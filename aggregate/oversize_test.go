package aggregate_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
)

// countingJSON is the JSON codec, counting the states it encodes.
type countingJSON struct {
	aggregate.JSON
	n *atomic.Int64
}

func (c countingJSON) Marshal(v any) ([]byte, error) {
	c.n.Add(1)
	return c.JSON.Marshal(v)
}

type page struct{ Lines []string }

type pageEvent interface{ isPageEvent() }

type written struct{ Text string }

func (written) isPageEvent() {}

// A state larger than one message is never snapshotted: the repository
// remembers the refusal, logs it once, and the loads after it encode the
// state at none of the marks they replay through (the old code encoded it
// at every mark of every load, and logged a warning each time). An
// explicit Snapshot says why with eventstore.ErrTooLarge.
func TestOversizedStateIsNotSnapshottedAtEveryMark(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, eventstore.WithMaxPayload(64<<10))
	var encoded atomic.Int64
	d := aggregate.Define[page, pageEvent]("pages", page{}, aggregate.WithStateCodec(countingJSON{n: &encoded}))
	aggregate.On(d, "Written", func(p page, e written) page { p.Lines = append(p.Lines, e.Text); return p })
	line := strings.Repeat("x", 100)
	for range 10 {
		evs := make([]eventstore.Event, 100)
		for j := range evs {
			evs[j] = eventstore.Event{Type: "Written", Data: []byte(`{"Text":"` + line + `"}`)}
		}
		if _, err := s.Append(ctx, "pages/big/events", evs); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	r, err := aggregate.NewRepository(s, d, aggregate.WithSnapshotEvery(10), aggregate.WithCache(0), aggregate.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Load(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	// The first load snapshots what fits and learns what does not.
	first := encoded.Load()
	for range 5 {
		l, err := r.Load(ctx, "big")
		if err != nil || l.Version != 1000 {
			t.Fatalf("Load = version %d, %v", l.Version, err)
		}
	}
	if n := encoded.Load() - first; n != 0 {
		t.Errorf("5 loads after the refusal encoded the state %d times (marks past the refusal are tried again)", n)
	}
	err = r.Snapshot(ctx, "big")
	if !errors.Is(err, eventstore.ErrTooLarge) {
		t.Errorf("Snapshot of a state larger than a message: %v, want ErrTooLarge", err)
	}
	r.Close()
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if n := strings.Count(out, "level=WARN"); n != 1 || !strings.Contains(out, "too large") {
		t.Errorf("%d warnings, want 1 saying the state is too large:\n%s", n, out)
	}
}
