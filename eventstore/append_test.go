package eventstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/rewindhq/rewind/eventstore"
)

// TestAppendIsOneCommit checks that the events of one Append get
// consecutive versions, one store time and offsets inside one commit, and
// that the next Append follows them.
func TestAppendIsOneCommit(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	res, err := s.Append(ctx, "orders/1", evs(5, 0))
	if err != nil {
		t.Fatal(err)
	}
	if res.Stream != "orders/1" || res.FirstVersion != 1 || res.Version != 5 || len(res.Offsets) != 5 || res.Duplicate {
		t.Fatalf("append: %+v", res)
	}
	got := collect(t, s.Read(ctx, "orders/1"))
	if len(got) != 5 {
		t.Fatalf("read %d events, want 5", len(got))
	}
	commit, _, _ := strings.Cut(string(got[0].Offset), "_")
	for i, e := range got {
		if e.Version != uint64(i+1) || e.Offset != res.Offsets[i] || e.Stream != "orders/1" {
			t.Errorf("event %d: version %d offset %s stream %q, want %d %s", i, e.Version, e.Offset, e.Stream, i+1, res.Offsets[i])
		}
		if !e.StoredAt.Equal(got[0].StoredAt) || e.StoredAt.IsZero() {
			t.Errorf("event %d stored at %v, event 0 at %v: one commit has one store time", i, e.StoredAt, got[0].StoredAt)
		}
		want := fmt.Sprintf("%s_%06d", commit, i+1)
		if i == len(got)-1 { // the last event carries the position after the whole commit
			want = commit + "_999999"
		}
		if string(e.Offset) != want {
			t.Errorf("event %d offset %s, want %s (same commit)", i, e.Offset, want)
		}
	}
	res2, err := s.Append(ctx, "orders/1", evs(2, 5))
	if err != nil {
		t.Fatal(err)
	}
	if res2.FirstVersion != 6 || res2.Version != 7 || res2.Offsets[0] <= res.Offset() {
		t.Errorf("second append: %+v, want versions 6-7 after offset %s", res2, res.Offset())
	}
}

// TestAppendAtomicForReaders reads a stream while multi-event commits are
// appended to it: every read sees whole commits only.
func TestAppendAtomicForReaders(t *testing.T) {
	s, _ := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const commits, size = 40, 7
	done := make(chan error, 1)
	go func() {
		for i := range commits {
			if _, err := s.Append(ctx, "atomic/1", evs(size, i*size)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		n := 0
		for e, err := range s.Read(ctx, "atomic/1") {
			if err != nil {
				t.Fatal(err)
			}
			if e.Version != uint64(n+1) {
				t.Fatalf("read version %d at position %d", e.Version, n)
			}
			n++
		}
		if n%size != 0 {
			t.Fatalf("a read saw %d events: part of a %d-event commit", n, size)
		}
	}
	if got := collect(t, s.Read(ctx, "atomic/1")); len(got) != commits*size {
		t.Fatalf("read %d events, want %d", len(got), commits*size)
	}
}

func TestAppendExpectations(t *testing.T) {
	cases := []struct {
		name     string
		existing int // events in the stream before the append
		opts     []eventstore.AppendOption
		conflict bool
		expected uint64 // ConcurrencyError.Expected when conflict
	}{
		{"no option on a new stream", 0, nil, false, 0},
		{"no option on a stream", 2, nil, false, 0},
		{"ExpectAny on a new stream", 0, []eventstore.AppendOption{eventstore.ExpectAny()}, false, 0},
		{"ExpectAny on a stream", 2, []eventstore.AppendOption{eventstore.ExpectAny()}, false, 0},
		{"ExpectNoStream on a new stream", 0, []eventstore.AppendOption{eventstore.ExpectNoStream()}, false, 0},
		{"ExpectNoStream on a stream", 2, []eventstore.AppendOption{eventstore.ExpectNoStream()}, true, 0},
		{"ExpectVersion(0) on a new stream", 0, []eventstore.AppendOption{eventstore.ExpectVersion(0)}, false, 0},
		{"ExpectVersion(1) on a new stream", 0, []eventstore.AppendOption{eventstore.ExpectVersion(1)}, true, 1},
		{"ExpectVersion(current)", 2, []eventstore.AppendOption{eventstore.ExpectVersion(2)}, false, 0},
		{"ExpectVersion(behind)", 2, []eventstore.AppendOption{eventstore.ExpectVersion(1)}, true, 1},
		{"ExpectVersion(ahead)", 2, []eventstore.AppendOption{eventstore.ExpectVersion(3)}, true, 3},
		{"ExpectAny after ExpectVersion", 2, []eventstore.AppendOption{eventstore.ExpectVersion(7), eventstore.ExpectAny()}, false, 0},
		{"ExpectVersion after ExpectAny", 2, []eventstore.AppendOption{eventstore.ExpectAny(), eventstore.ExpectVersion(7)}, true, 7},
	}
	s, _ := openStore(t)
	ctx := context.Background()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stream := "expect/" + strconv.Itoa(i)
			if c.existing > 0 {
				if _, err := s.Append(ctx, stream, evs(c.existing, 0)); err != nil {
					t.Fatal(err)
				}
			}
			before := collect(t, s.Read(ctx, stream))
			res, err := s.Append(ctx, stream, evs(3, 100), c.opts...)
			if !c.conflict {
				if err != nil {
					t.Fatalf("append: %v", err)
				}
				if res.FirstVersion != uint64(c.existing+1) || res.Version != uint64(c.existing+3) {
					t.Fatalf("append: versions %d-%d, want %d-%d", res.FirstVersion, res.Version, c.existing+1, c.existing+3)
				}
				return
			}
			if !errors.Is(err, eventstore.ErrConcurrency) {
				t.Fatalf("append: %v, want ErrConcurrency", err)
			}
			var ce *eventstore.ConcurrencyError
			if !errors.As(err, &ce) {
				t.Fatalf("append: %v is not a *ConcurrencyError", err)
			}
			if ce.Stream != stream || ce.Expected != c.expected || ce.Actual != uint64(c.existing) {
				t.Errorf("conflict %+v, want stream %q expected %d actual %d", *ce, stream, c.expected, c.existing)
			}
			if len(res.Offsets) != 0 || res.Version != 0 {
				t.Errorf("failed append returned %+v", res)
			}
			after := collect(t, s.Read(ctx, stream))
			sameEvents(t, "stream after a refused append", after, before)
			if h, err := s.Head(ctx, stream); err != nil || h.Version != uint64(c.existing) {
				t.Errorf("head after a refused append: %+v, %v", h, err)
			}
		})
	}
}

// TestAppendInvalidEvents checks that an append with an event the store
// cannot keep fails with ErrInvalidEvent and stores none of its events.
func TestAppendInvalidEvents(t *testing.T) {
	cases := map[string][]eventstore.Event{
		"nil slice":           nil,
		"no events":           {},
		"empty type":          {{Data: []byte("{}")}},
		"empty type later":    {ev("A", "1"), ev("B", "2"), {Data: []byte("3")}},
		"empty metadata key":  {{Type: "A", Metadata: map[string]string{"": "x"}}},
		"empty key later":     {ev("A", "1"), {Type: "B", Metadata: map[string]string{"ok": "1", "": "2"}}},
		"empty type and key":  {{Metadata: map[string]string{"": ""}}},
		"empty type, with id": {{ID: uuid.New(), Time: time.Now()}},
		// Times int64 nanoseconds since 1970 cannot hold, which were
		// stored as another time.
		"time in 2400":     {{Type: "A", Time: time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC)}},
		"time in 1600":     {{Type: "A", Time: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)}},
		"time in year 1":   {{Type: "A", Time: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)}},
		"time later, 9999": {ev("A", "1"), {Type: "B", Time: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}},
	}
	s, _ := openStore(t)
	ctx := context.Background()
	for label, events := range cases {
		for _, stream := range []string{"fresh/1", "existing/1"} {
			if stream == "existing/1" {
				if _, err := s.Append(ctx, stream, evs(1, 0), eventstore.ExpectNoStream()); err != nil && !errors.Is(err, eventstore.ErrConcurrency) {
					t.Fatal(err)
				}
			}
			_, err := s.Append(ctx, stream, events)
			if !errors.Is(err, eventstore.ErrInvalidEvent) {
				t.Errorf("%s on %s: %v, want ErrInvalidEvent", label, stream, err)
			}
		}
	}
	all := collect(t, s.ReadAll(ctx))
	if len(all) != 1 || all[0].Stream != "existing/1" {
		t.Errorf("the log holds %s, want only the one valid event", describe(all))
	}
}

// TestAppendTooLarge checks that an append that does not fit in one
// message fails with ErrTooLarge and stores nothing, whether one event or
// many small ones are too much, while an append that fits is stored.
func TestAppendTooLarge(t *testing.T) {
	const maxPayload = 64 << 10
	s, _ := openStore(t, eventstore.WithMaxPayload(maxPayload))
	ctx := context.Background()
	big := eventstore.Event{Type: "Big", Data: bytes.Repeat([]byte("x"), maxPayload)}
	if _, err := s.Append(ctx, "large/1", []eventstore.Event{big}); !errors.Is(err, eventstore.ErrTooLarge) {
		t.Errorf("append one %d-byte event: %v, want ErrTooLarge", len(big.Data), err)
	}
	many := make([]eventstore.Event, 200)
	for i := range many {
		many[i] = eventstore.Event{Type: "Part", Data: bytes.Repeat([]byte("y"), 400)}
	}
	if _, err := s.Append(ctx, "large/1", many); !errors.Is(err, eventstore.ErrTooLarge) {
		t.Errorf("append 200 events of 400 bytes: %v, want ErrTooLarge", err)
	}
	if _, err := s.Append(ctx, "large/2", evs(1, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "large/2", []eventstore.Event{big}, eventstore.ExpectVersion(1)); !errors.Is(err, eventstore.ErrTooLarge) {
		t.Errorf("append to an existing stream: %v, want ErrTooLarge", err)
	}
	all := collect(t, s.ReadAll(ctx))
	if len(all) != 1 || all[0].Stream != "large/2" {
		t.Errorf("the log holds %s after refused appends, want only large/2's first event", describe(all))
	}
	fits := eventstore.Event{Type: "Fits", Data: bytes.Repeat([]byte("z"), maxPayload/2)}
	res, err := s.Append(ctx, "large/1", []eventstore.Event{fits})
	if err != nil || res.Version != 1 {
		t.Fatalf("append a %d-byte event: %+v, %v", len(fits.Data), res, err)
	}
	got := collect(t, s.Read(ctx, "large/1"))
	if len(got) != 1 || !bytes.Equal(got[0].Data, fits.Data) {
		t.Errorf("read back %d events", len(got))
	}
}

// CheckAppendSize refuses what no encoding fits, before Append copies or
// encodes the events, and nothing an encoding fits: events whose every
// field encodes at its least (a time at the epoch, no metadata) are stored
// up to the commit's own header short of the limit.
func TestCheckAppendSize(t *testing.T) {
	const maxPayload = 64 << 10
	s, _ := openStore(t, eventstore.WithMaxPayload(maxPayload))
	ctx := context.Background()
	limit := s.MaxAppendBytes()
	least := func(n int) []eventstore.Event {
		evs := make([]eventstore.Event, n)
		for i := range evs {
			evs[i] = eventstore.Event{Type: "T", Data: []byte("x"), Time: time.Unix(0, 0)}
		}
		return evs
	}
	each := eventstore.EventOverhead + 2
	over := limit/each + 1
	if err := s.CheckAppendSize(over, over*2); !errors.Is(err, eventstore.ErrTooLarge) {
		t.Errorf("CheckAppendSize(%d events): %v, want ErrTooLarge", over, err)
	}
	if _, err := s.Append(ctx, "least/1", least(over)); !errors.Is(err, eventstore.ErrTooLarge) || !strings.Contains(err.Error(), "at least") {
		t.Errorf("append %d events: %v, want ErrTooLarge before encoding", over, err)
	}
	fits := (limit - 64) / each
	if err := s.CheckAppendSize(fits, fits*2); err != nil {
		t.Errorf("CheckAppendSize(%d events): %v", fits, err)
	}
	if _, err := s.Append(ctx, "least/1", least(fits)); err != nil {
		t.Errorf("append %d events of the least size: %v", fits, err)
	}
	if err := s.CheckAppendSize(eventstore.MaxEventsPerAppend+1, 0); !errors.Is(err, eventstore.ErrTooLarge) {
		t.Errorf("CheckAppendSize(MaxEventsPerAppend+1): %v, want ErrTooLarge", err)
	}
}

// TestAppendNearMaxPayload appends events whose encoded commit lands on
// every size just below the server's max payload: each append must be
// either stored or refused with ErrTooLarge, never fail with the client's
// own "maximum payload exceeded" (which counts the headers too).
func TestAppendNearMaxPayload(t *testing.T) {
	const maxPayload = 64 << 10
	s, _ := openStore(t, eventstore.WithMaxPayload(maxPayload))
	ctx := context.Background()
	stored, refused := 0, 0
	var wrong []int
	var firstWrong error
	for size := maxPayload - 400; size <= maxPayload; size++ {
		e := eventstore.Event{Type: "Edge", Data: bytes.Repeat([]byte("e"), size)}
		_, err := s.Append(ctx, "edge/1", []eventstore.Event{e})
		switch {
		case err == nil:
			stored++
		case errors.Is(err, eventstore.ErrTooLarge):
			refused++
		default:
			if firstWrong == nil {
				firstWrong = err
			}
			wrong = append(wrong, size)
		}
	}
	if len(wrong) > 0 {
		t.Errorf("%d appends (data of %d to %d bytes) failed with another error than ErrTooLarge, the first: %v",
			len(wrong), wrong[0], wrong[len(wrong)-1], firstWrong)
	}
	if stored == 0 || refused == 0 {
		t.Errorf("%d stored, %d refused: the sizes tried should straddle the limit", stored, refused)
	}
	if h, err := s.Head(ctx, "edge/1"); err != nil || h.Version != uint64(stored) {
		t.Errorf("head %+v, %v; want version %d", h, err, stored)
	}
}

// TestAppendFillsIDAndTime checks the defaults: a zero ID becomes a UUID
// v7, a zero Time becomes now; given ones are kept, as are type, data and
// metadata. The caller's slice is not modified.
func TestAppendFillsIDAndTime(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	givenID := uuid.New() // v4: distinguishable from a generated v7
	givenTime := time.Date(2001, 2, 3, 4, 5, 6, 789, time.UTC)
	in := []eventstore.Event{
		{Type: "Defaulted", Data: []byte(`{"a":1}`)},
		{Type: "Given", ID: givenID, Time: givenTime, Data: []byte("\x00binary\xff"),
			Metadata: map[string]string{eventstore.MetaCorrelationID: "corr-1", eventstore.MetaCausationID: "cause-1", "tenant": "t 1", "empty": ""}},
		{Type: "NoData"},
		{Type: "Defaulted"},
	}
	orig := slices.Clone(in)
	before := time.Now()
	res, err := s.Append(ctx, "defaults/1", in)
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if in[i].ID != orig[i].ID || !in[i].Time.Equal(orig[i].Time) || in[i].Stream != "" || in[i].Version != 0 || in[i].Offset != "" {
			t.Errorf("the caller's event %d was modified: %+v", i, in[i])
		}
	}
	got := collect(t, s.Read(ctx, "defaults/1"))
	if len(got) != 4 || res.Version != 4 {
		t.Fatalf("read %d events, append %+v", len(got), res)
	}
	for _, i := range []int{0, 2, 3} {
		if got[i].ID.Version() != 7 {
			t.Errorf("event %d: generated id %s is version %d, want 7", i, got[i].ID, got[i].ID.Version())
		}
		if got[i].Time.Before(before) || got[i].Time.After(after) {
			t.Errorf("event %d: time %v not between %v and %v", i, got[i].Time, before, after)
		}
	}
	if got[0].ID == got[2].ID || got[0].ID == got[3].ID || got[2].ID == got[3].ID {
		t.Errorf("generated ids repeat: %s %s %s", got[0].ID, got[2].ID, got[3].ID)
	}
	g := got[1]
	if g.ID != givenID || !g.Time.Equal(givenTime) || g.Type != "Given" || !bytes.Equal(g.Data, in[1].Data) {
		t.Errorf("given event read back as %+v", g)
	}
	if g.CorrelationID() != "corr-1" || g.CausationID() != "cause-1" || g.Metadata["tenant"] != "t 1" || len(g.Metadata) != 4 {
		t.Errorf("metadata read back as %q", g.Metadata)
	}
	if v, ok := g.Metadata["empty"]; !ok || v != "" {
		t.Errorf("empty metadata value read back as %q, %v", v, ok)
	}
	if len(got[2].Data) != 0 || got[2].Metadata != nil && len(got[2].Metadata) != 0 || got[2].CorrelationID() != "" {
		t.Errorf("event without data or metadata read back as %+v", got[2])
	}
	if got[0].Type != "Defaulted" || string(got[0].Data) != `{"a":1}` {
		t.Errorf("event 0 read back as %+v", got[0])
	}
	all := collect(t, s.ReadAll(ctx))
	for i := range all {
		if all[i].ID != got[i].ID || !all[i].Time.Equal(got[i].Time) || !bytes.Equal(all[i].Data, got[i].Data) {
			t.Errorf("event %d reads differently from the log and the index", i)
		}
	}
}

// TestAppendConcurrentNoLostUpdate has many goroutines append to one
// stream without an expectation: every event is stored exactly once, and
// the versions are 1..N with no gap or repeat.
func TestAppendConcurrentNoLostUpdate(t *testing.T) {
	s, _ := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const writers, appends = 16, 20
	var mu sync.Mutex
	claimed := map[uint64]string{} // version → event
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range appends {
				n := 1 + (w+i)%3
				events := make([]eventstore.Event, n)
				for j := range events {
					events[j] = ev("Hit", fmt.Sprintf("w%d-a%d-e%d", w, i, j))
				}
				res, err := s.Append(ctx, "counter/1", events, eventstore.ExpectAny())
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for j := range events {
					v := res.FirstVersion + uint64(j)
					if prev, ok := claimed[v]; ok {
						errs <- fmt.Errorf("version %d given to %s and %s", v, prev, events[j].Data)
					}
					claimed[v] = string(events[j].Data)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := uint64(len(claimed))
	h, err := s.Head(ctx, "counter/1")
	if err != nil || h.Version != total {
		t.Fatalf("head %+v, %v; want version %d", h, err, total)
	}
	got := collect(t, s.Read(ctx, "counter/1"))
	seen := map[string]bool{}
	for i, e := range got {
		if e.Version != uint64(i+1) {
			t.Fatalf("event %d has version %d", i, e.Version)
		}
		if seen[string(e.Data)] {
			t.Fatalf("event %s stored twice", e.Data)
		}
		seen[string(e.Data)] = true
		if claimed[e.Version] != string(e.Data) {
			t.Errorf("version %d holds %s, its append reported %s", e.Version, e.Data, claimed[e.Version])
		}
	}
	if uint64(len(got)) != total {
		t.Errorf("read %d events, appended %d", len(got), total)
	}
}

// TestAppendConcurrentReadModifyWrite runs a counter the way a command
// handler does: read the last value, append value+1 with ExpectVersion,
// retry on ErrConcurrency. No increment is lost: the values are 1..N in
// version order.
func TestAppendConcurrentReadModifyWrite(t *testing.T) {
	s, _ := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const workers, increments = 16, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var conflicts sync.Map
	for w := range workers {
		wg.Go(func() {
			for range increments {
				if err := increment(ctx, s, "rmw/counter", w, &conflicts); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := collect(t, s.Read(ctx, "rmw/counter"))
	if len(got) != workers*increments {
		t.Fatalf("%d increments stored, want %d", len(got), workers*increments)
	}
	for i, e := range got {
		if want := strconv.Itoa(i + 1); string(e.Data) != want || e.Version != uint64(i+1) {
			t.Fatalf("version %d holds value %s, want %s", e.Version, e.Data, want)
		}
	}
	n := 0
	conflicts.Range(func(any, any) bool { n++; return true })
	t.Logf("%d workers saw conflicts", n)
}

// increment adds one to the counter stream, retrying on conflicts.
func increment(ctx context.Context, s *eventstore.Store, stream string, worker int, conflicts *sync.Map) error {
	for {
		h, err := s.Head(ctx, stream)
		if err != nil {
			return err
		}
		value := 0
		if h.Version > 0 {
			for e, err := range s.Read(ctx, stream, eventstore.FromVersion(h.Version)) {
				if err != nil {
					return err
				}
				if value, err = strconv.Atoi(string(e.Data)); err != nil {
					return err
				}
			}
		}
		_, err = s.Append(ctx, stream, []eventstore.Event{ev("Incremented", strconv.Itoa(value+1))}, eventstore.ExpectVersion(h.Version))
		var ce *eventstore.ConcurrencyError
		if errors.As(err, &ce) {
			if ce.Expected != h.Version || ce.Actual <= h.Version {
				return fmt.Errorf("conflict %+v after reading version %d", *ce, h.Version)
			}
			conflicts.Store(worker, true)
			continue
		}
		return err
	}
}

// boundsFixture is a stream of 10 events in commits of 3, 3 and 4, and
// another stream's commit between them.
func boundsFixture(t *testing.T) (*eventstore.Store, []eventstore.Event) {
	t.Helper()
	s, _ := openStore(t)
	ctx := context.Background()
	for i, n := range []int{3, 3, 4} {
		if _, err := s.Append(ctx, "bounds/1", evs(n, i*10)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, "bounds/2", evs(1, 100+i)); err != nil {
			t.Fatal(err)
		}
	}
	all := collect(t, s.Read(ctx, "bounds/1"))
	if len(all) != 10 {
		t.Fatalf("fixture: %d events", len(all))
	}
	return s, all
}

func TestReadVersionBounds(t *testing.T) {
	s, all := boundsFixture(t)
	ctx := context.Background()
	cases := []struct {
		name     string
		opts     []eventstore.ReadOption
		from, to int // versions, inclusive
	}{
		{"ToVersion mid-commit", []eventstore.ReadOption{eventstore.ToVersion(5)}, 1, 5},
		{"ToVersion at a commit end", []eventstore.ReadOption{eventstore.ToVersion(6)}, 1, 6},
		{"ToVersion 1", []eventstore.ReadOption{eventstore.ToVersion(1)}, 1, 1},
		{"ToVersion past the end", []eventstore.ReadOption{eventstore.ToVersion(99)}, 1, 10},
		{"FromVersion mid-commit", []eventstore.ReadOption{eventstore.FromVersion(5)}, 5, 10},
		{"FromVersion at a commit start", []eventstore.ReadOption{eventstore.FromVersion(4)}, 4, 10},
		{"FromVersion last", []eventstore.ReadOption{eventstore.FromVersion(10)}, 10, 10},
		{"FromVersion past the end", []eventstore.ReadOption{eventstore.FromVersion(11)}, 11, 10},
		{"FromVersion and ToVersion", []eventstore.ReadOption{eventstore.FromVersion(2), eventstore.ToVersion(8)}, 2, 8},
		{"one version", []eventstore.ReadOption{eventstore.FromVersion(7), eventstore.ToVersion(7)}, 7, 7},
		{"From an offset and ToVersion", []eventstore.ReadOption{eventstore.From(all[1].Offset), eventstore.ToVersion(4)}, 3, 4},
		{"FromVersion after From", []eventstore.ReadOption{eventstore.From(all[1].Offset), eventstore.FromVersion(6)}, 6, 10},
		{"From after FromVersion", []eventstore.ReadOption{eventstore.FromVersion(2), eventstore.From(all[6].Offset)}, 8, 10},
		{"ToOffset mid-commit", []eventstore.ReadOption{eventstore.ToOffset(all[4].Offset)}, 1, 5},
		{"ToOffset first", []eventstore.ReadOption{eventstore.ToOffset(all[0].Offset)}, 1, 1},
		{"ToOffset and ToVersion", []eventstore.ReadOption{eventstore.ToOffset(all[7].Offset), eventstore.ToVersion(3)}, 1, 3},
		{"From and ToOffset", []eventstore.ReadOption{eventstore.From(all[2].Offset), eventstore.ToOffset(all[8].Offset)}, 4, 9},
	}
	for _, c := range cases {
		var want []eventstore.Event
		if c.from <= c.to {
			want = all[c.from-1 : c.to]
		}
		sameEvents(t, c.name, collect(t, s.Read(ctx, "bounds/1", c.opts...)), want)
	}

	invalid := map[string][]eventstore.ReadOption{
		"FromVersion(0)":          {eventstore.FromVersion(0)},
		"ToVersion(0)":            {eventstore.ToVersion(0)},
		"FromVersion > ToVersion": {eventstore.FromVersion(5), eventstore.ToVersion(4)},
		"zero ToTime":             {eventstore.ToTime(time.Time{})},
	}
	for label, opts := range invalid {
		if err := firstError(t, s.Read(ctx, "bounds/1", opts...)); !errors.Is(err, eventstore.ErrInvalidOption) {
			t.Errorf("read with %s: %v, want ErrInvalidOption", label, err)
		}
	}
	for label, opts := range map[string][]eventstore.ReadOption{
		"FromVersion": {eventstore.FromVersion(2)},
		"ToVersion":   {eventstore.ToVersion(2)},
	} {
		if err := firstError(t, s.ReadAll(ctx, opts...)); !errors.Is(err, eventstore.ErrInvalidOption) {
			t.Errorf("read all with %s: %v, want ErrInvalidOption", label, err)
		}
		if err := firstError(t, s.ReadCategory(ctx, "bounds", opts...)); !errors.Is(err, eventstore.ErrInvalidOption) {
			t.Errorf("read category with %s: %v, want ErrInvalidOption", label, err)
		}
	}
}

// TestExpiredContext: a call whose ctx's deadline had passed before it
// asked anything returns ctx's error alone, as one whose ctx was
// cancelled does: its one try timed out at once, which read as a cluster
// that did not answer (ErrUnavailable).
func TestExpiredContext(t *testing.T) {
	s, _ := openStore(t)
	if _, err := s.Append(context.Background(), "expired/1", evs(1, 1)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	calls := map[string]func() error{
		"Tail":         func() error { _, err := s.Tail(ctx); return err },
		"ReadAll":      func() error { return firstError(t, s.ReadAll(ctx)) },
		"ReadCategory": func() error { return firstError(t, s.ReadCategory(ctx, "expired")) },
		"SetMetadata":  func() error { _, err := s.SetMetadata(ctx, "expired/1", nil, 0); return err },
		"KeyValue":     func() error { _, err := s.KeyValue(ctx, "expired"); return err },
		"Snapshots":    func() error { _, err := s.Snapshots(ctx, "expired/1"); return err },
		"Ready":        func() error { return s.Ready(ctx, 0) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, eventstore.ErrUnavailable) {
			t.Errorf("%s with an expired ctx: %v, want context.DeadlineExceeded alone", name, err)
		}
	}
}

// TestReadToTime appends a batch, notes the time, appends another: a read
// ToTime that moment returns the first batch only, from a stream, a
// category and the log.
// TestReadCancelledContext: a read whose ctx is done ends with ctx's error
// as its last pair, however short the stream, as ReadAll's does; the
// check every 256 events alone let a short read answer as if nothing
// was wrong.
func TestReadCancelledContext(t *testing.T) {
	s, _ := openStore(t)
	if _, err := s.Append(context.Background(), "cancelled/1", evs(3, 1)); err != nil {
		t.Fatal(err)
	}
	collect(t, s.Read(context.Background(), "cancelled/1")) // the index holds the append
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := firstError(t, s.Read(ctx, "cancelled/1")); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a cancelled ctx: %v", err)
	}
	if err := firstError(t, s.ReadAll(ctx)); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadAll with a cancelled ctx: %v", err)
	}
}

func TestReadToTime(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	first := appendBatch(t, s, 0)
	time.Sleep(5 * time.Millisecond)
	mark := time.Now()
	time.Sleep(5 * time.Millisecond)
	second := appendBatch(t, s, 100)
	for _, e := range first {
		if e.StoredAt.After(mark) {
			t.Fatalf("first batch stored at %v, after the mark %v", e.StoredAt, mark)
		}
	}
	for _, e := range second {
		if !e.StoredAt.After(mark) {
			t.Fatalf("second batch stored at %v, not after the mark %v", e.StoredAt, mark)
		}
	}
	only := func(events []eventstore.Event, keep func(eventstore.Event) bool) []eventstore.Event {
		var out []eventstore.Event
		for _, e := range events {
			if keep(e) {
				out = append(out, e)
			}
		}
		return out
	}
	to := eventstore.ToTime(mark)
	sameEvents(t, "read ToTime", collect(t, s.Read(ctx, "time/1", to)), only(first, inStream("time/1")))
	sameEvents(t, "read all ToTime", collect(t, s.ReadAll(ctx, to)), first)
	sameEvents(t, "read category ToTime", collect(t, s.ReadCategory(ctx, "time", to)), only(first, inCategory("time")))
	sameEvents(t, "read ToTime(later)", collect(t, s.Read(ctx, "time/1", eventstore.ToTime(time.Now()))),
		only(append(slices.Clone(first), second...), inStream("time/1")))
	if got := collect(t, s.ReadAll(ctx, eventstore.ToTime(first[0].StoredAt.Add(-time.Millisecond)))); len(got) != 0 {
		t.Errorf("read all before the first event: %s", describe(got))
	}
	// ToTime at an event's exact store time includes it.
	sameEvents(t, "read ToTime(first stored at)", collect(t, s.Read(ctx, "time/1", eventstore.ToTime(first[0].StoredAt))), first[:2])
}

// appendBatch appends a two-event commit to time/1 and one event to
// time/2 and other/1, and returns them as read back, in log order.
func appendBatch(t *testing.T, s *eventstore.Store, n int) []eventstore.Event {
	t.Helper()
	ctx := context.Background()
	for _, stream := range []string{"time/1", "time/2", "other/1"} {
		k := 1
		if stream == "time/1" {
			k = 2
		}
		if _, err := s.Append(ctx, stream, evs(k, n)); err != nil {
			t.Fatal(err)
		}
		n += k
	}
	var out []eventstore.Event
	for _, e := range collect(t, s.ReadAll(ctx)) {
		var v int
		if _, err := fmt.Sscanf(string(e.Data), `{"n":%d}`, &v); err == nil && v >= n-4 && v < n {
			out = append(out, e)
		}
	}
	if len(out) != 4 {
		t.Fatalf("batch from %d: %s", n-4, describe(out))
	}
	return out
}

// TestReadCategoryMembers checks which streams a category holds: those
// whose first segment is the category, the one-segment stream named like
// it included, and no stream whose first segment only starts like it.
func TestReadCategoryMembers(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	streams := []string{"orders/1", "ordersx/1", "orders/2/events", "order/1", "orders", "other/orders", "orders.x", "orders-1", "orders/1"}
	var want []string
	for i, name := range streams {
		if _, err := s.Append(ctx, name, []eventstore.Event{ev("E", name+"#"+strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
		if name == "orders" || strings.HasPrefix(name, "orders/") {
			want = append(want, name+"#"+strconv.Itoa(i))
		}
	}
	var got []string
	for _, e := range collect(t, s.ReadCategory(ctx, "orders")) {
		got = append(got, string(e.Data))
	}
	if !slices.Equal(got, want) {
		t.Errorf("category orders holds %q, want %q (in log order)", got, want)
	}
	if got := collect(t, s.ReadCategory(ctx, "nothing")); len(got) != 0 {
		t.Errorf("empty category: %s", describe(got))
	}
}

func TestHead(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	h, err := s.Head(ctx, "head/missing")
	if err != nil || h.Version != 0 || h.Offset != eventstore.Start || !h.StoredAt.IsZero() {
		t.Errorf("head of a missing stream: %+v, %v; want version 0 at Start", h, err)
	}
	if _, err := s.Append(ctx, "head/1", evs(3, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "head/2", evs(1, 0)); err != nil {
		t.Fatal(err)
	}
	res, err := s.Append(ctx, "head/1", evs(2, 3))
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, s.Read(ctx, "head/1"))
	last := got[len(got)-1]
	h, err = s.Head(ctx, "head/1")
	if err != nil || h.Version != 5 || h.Offset != res.Offset() || h.Offset != last.Offset || !h.StoredAt.Equal(last.StoredAt) {
		t.Errorf("head %+v, %v; want version 5, offset %s, stored at %v", h, err, last.Offset, last.StoredAt)
	}
	if h, err := s.Head(ctx, "head"); err != nil || h.Version != 0 {
		t.Errorf("head of the category name as a stream: %+v, %v", h, err)
	}
}

// TestHeadAfterEveryKindOfAppend: the head of a stream this store appends
// to (kept by the append path, read without the index) agrees, after each
// kind of append, with what Read returns and with the head a new process
// reads from its index: several events, a command's record without
// events, a producer's duplicate, a lost ExpectVersion race, a close, a
// delete and the stream made again.
func TestHeadAfterEveryKindOfAppend(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() }) // a second Close does nothing
	const name = "heads/1"
	check := func(s *eventstore.Store, step string) eventstore.Head {
		t.Helper()
		h, err := s.Head(ctx, name)
		if err != nil {
			t.Fatalf("%s: head: %v", step, err)
		}
		got := collect(t, s.Read(ctx, name))
		want := eventstore.Head{Offset: eventstore.Start, Version: uint64(len(got))}
		if len(got) > 0 {
			last := got[len(got)-1]
			want.Offset, want.StoredAt = last.Offset, last.StoredAt
		}
		want.Closed = h.Closed
		if h.Version != want.Version || h.Offset != want.Offset || !h.StoredAt.Equal(want.StoredAt) {
			t.Errorf("%s: head %+v, but Read ends at %+v", step, h, want)
		}
		return h
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"three events", func() error { _, err := s.Append(ctx, name, evs(3, 0)); return err }},
		{"a command without events", func() error {
			_, err := s.Append(ctx, name, nil, eventstore.WithCommandID("c-1"))
			return err
		}},
		{"a producer's append", func() error {
			_, err := s.Append(ctx, name, evs(1, 3), eventstore.WithProducer("p", 1, 0))
			return err
		}},
		{"the producer's duplicate", func() error {
			res, err := s.Append(ctx, name, evs(1, 3), eventstore.WithProducer("p", 1, 0))
			if err == nil && !res.Duplicate {
				err = fmt.Errorf("not a duplicate: %+v", res)
			}
			return err
		}},
		{"a lost race", func() error {
			_, err := s.Append(ctx, name, evs(1, 4), eventstore.ExpectVersion(2))
			if !errors.Is(err, eventstore.ErrConcurrency) {
				return fmt.Errorf("want ErrConcurrency, got %v", err)
			}
			return nil
		}},
		{"a close", func() error { _, err := s.Append(ctx, name, evs(1, 4), eventstore.WithClose()); return err }},
		{"a delete", func() error { return s.DeleteStream(ctx, name) }},
		{"the stream made again", func() error { _, err := s.Append(ctx, name, evs(2, 0)); return err }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		h := check(s, st.name)
		if (st.name == "a close") != h.Closed {
			t.Errorf("%s: head says closed=%v", st.name, h.Closed)
		}
	}
	before, _ := s.Head(ctx, name)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if after := check(s2, "reopened"); after != before {
		t.Errorf("the head a new process reads, %+v, is not the one the appending process gave, %+v", after, before)
	}
}

// TestClosedStore checks that every operation on a closed store fails with
// ErrClosed, and that Close can be called again.
func TestClosedStore(t *testing.T) {
	s, _ := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Append(ctx, "closed/1", evs(2, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	wantClosed := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, eventstore.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", op, err)
		}
	}
	_, err := s.Append(ctx, "closed/1", evs(1, 2))
	wantClosed("Append", err)
	_, err = s.Append(ctx, "closed/new", evs(1, 0), eventstore.ExpectNoStream())
	wantClosed("Append to a new stream", err)
	_, err = s.Head(ctx, "closed/1")
	wantClosed("Head", err)
	wantClosed("Read", firstError(t, s.Read(ctx, "closed/1")))
	wantClosed("ReadAll", firstError(t, s.ReadAll(ctx)))
	wantClosed("ReadCategory", firstError(t, s.ReadCategory(ctx, "closed")))
	wantClosed("Subscribe", firstError(t, s.Subscribe(ctx, "closed/1")))
	wantClosed("SubscribeCategory", firstError(t, s.SubscribeCategory(ctx, "closed")))
	wantClosed("SubscribeAll", firstError(t, s.SubscribeAll(ctx)))
	wantClosed("Reindex", s.Reindex(ctx, nil))
}

// TestCloseEndsSubscriptions closes a store under live subscriptions: each
// ends with an error wrapping ErrClosed rather than hanging or ending
// silently.
func TestCloseEndsSubscriptions(t *testing.T) {
	s, _ := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Append(ctx, "live/1", evs(1, 0)); err != nil {
		t.Fatal(err)
	}
	subs := map[string]iter.Seq2[eventstore.Event, error]{
		"Subscribe":         s.Subscribe(ctx, "live/1"),
		"SubscribeCategory": s.SubscribeCategory(ctx, "live"),
		"SubscribeAll":      s.SubscribeAll(ctx),
	}
	type result struct {
		name   string
		events int
		err    error
	}
	results := make(chan result, len(subs))
	delivered := make(chan uint64, 2*len(subs))
	for name, sub := range subs {
		go func() {
			r := result{name: name}
			for e, err := range sub {
				if err != nil {
					r.err = err
					break
				}
				r.events++
				delivered <- e.Version
			}
			results <- r
		}()
	}
	// Every subscription has caught up (version 1) and is live (version
	// 2, appended after they caught up) before the store closes.
	waitDelivered := func(version uint64) {
		t.Helper()
		for range subs {
			select {
			case v := <-delivered:
				if v != version {
					t.Fatalf("delivered version %d, want %d", v, version)
				}
			case r := <-results:
				t.Fatalf("%s ended after %d events: %v", r.name, r.events, r.err)
			case <-ctx.Done():
				t.Fatalf("waiting for version %d: %v", version, ctx.Err())
			}
		}
	}
	waitDelivered(1)
	if _, err := s.Append(ctx, "live/1", evs(1, 1)); err != nil {
		t.Fatal(err)
	}
	waitDelivered(2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range subs {
		select {
		case r := <-results:
			if r.events != 2 || !errors.Is(r.err, eventstore.ErrClosed) {
				t.Errorf("%s: %d events, then %v; want 2 events, then ErrClosed", r.name, r.events, r.err)
			}
		case <-ctx.Done():
			t.Fatal("a subscription did not end when the store closed")
		}
	}
}

// TestCloseDuringReads closes a store while reads and subscriptions
// start one after another in several goroutines: whatever each was doing,
// it must end with ErrClosed, as Close documents ("Reads and subscriptions
// still running end with ErrClosed"), also a read that is creating its
// JetStream consumer or asking for the log's end when the connection
// closes.
func TestCloseDuringReads(t *testing.T) {
	// The window is narrow: a few rounds make a miss unlikely.
	for round := range 4 {
		for name, err := range closeDuringReads(t) {
			t.Errorf("round %d: %s during Close: %v, want ErrClosed", round, name, err)
		}
		if t.Failed() {
			return
		}
	}
}

// closeDuringReads opens a store, keeps reads of every kind starting in
// several goroutines, closes the store, and returns the errors other than
// ErrClosed that the reads ended with.
func closeDuringReads(t *testing.T) map[string]error {
	t.Helper()
	s, _ := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Append(ctx, "busy/1", evs(3, 0)); err != nil {
		t.Fatal(err)
	}
	reads := map[string]func() iter.Seq2[eventstore.Event, error]{
		"Read":              func() iter.Seq2[eventstore.Event, error] { return s.Read(ctx, "busy/1") },
		"ReadAll":           func() iter.Seq2[eventstore.Event, error] { return s.ReadAll(ctx) },
		"ReadCategory":      func() iter.Seq2[eventstore.Event, error] { return s.ReadCategory(ctx, "busy") },
		"Subscribe":         func() iter.Seq2[eventstore.Event, error] { return s.Subscribe(ctx, "busy/1") },
		"SubscribeAll":      func() iter.Seq2[eventstore.Event, error] { return s.SubscribeAll(ctx) },
		"SubscribeCategory": func() iter.Seq2[eventstore.Event, error] { return s.SubscribeCategory(ctx, "busy") },
		"SubscribeAll(Now)": func() iter.Seq2[eventstore.Event, error] {
			return s.SubscribeAll(ctx, eventstore.From(eventstore.Now))
		},
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wrong := map[string]error{}
	for name, read := range reads {
		for range 2 {
			wg.Go(func() {
				for ctx.Err() == nil {
					// Each round runs a read to its end, or a subscription
					// to its third event, and starts another. A
					// subscription From(Now) waits for Close.
					n := 0
					for _, err := range read() {
						if err != nil {
							if !errors.Is(err, eventstore.ErrClosed) {
								mu.Lock()
								wrong[name] = err
								mu.Unlock()
							}
							return
						}
						if n++; n == 3 {
							break
						}
					}
				}
			})
		}
	}
	time.Sleep(100 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("reads went on after Close")
	}
	return wrong
}
