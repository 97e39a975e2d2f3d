package aggregate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
)

// fakeClock is a clock the test moves by hand, for store times.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestLoadAtVersionAndTime: Load, LoadVersion and LoadAt fold what the
// stream held then, with and without snapshots, and the same after every
// snapshot is deleted.
func TestLoadAtVersionAndTime(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	s := openStore(t, eventstore.WithClock(clock.now))
	for _, every := range []uint64{0, 3} {
		repo := newRepo(t, s, defineOrders(), aggregate.WithSnapshotEvery(every), aggregate.WithCache(0))
		id := fmt.Sprint("load-", every)
		if _, err := repo.Handle(ctx, id, place("ada")); err != nil {
			t.Fatal(err)
		}
		var times []time.Time
		for i := range 10 {
			clock.add(time.Hour)
			res, err := repo.Handle(ctx, id, addItem(fmt.Sprint("sku", i%3), 1, 10*(i+1)))
			if err != nil {
				t.Fatal(err)
			}
			times = append(times, res.StoredAt)
		}
		if err := repo.Close(); err != nil { // the snapshots are written
			t.Fatal(err)
		}
		want := func(n int) order { // the state after n items
			o := order{Status: "placed", Items: map[string]int{}}
			for i := range n {
				o.Items[fmt.Sprint("sku", i%3)]++
				o.Total += 10 * (i + 1)
			}
			return o
		}
		check := func(when string) {
			t.Helper()
			repo := newRepo(t, s, defineOrders(), aggregate.WithSnapshotEvery(every), aggregate.WithCache(0))
			l, err := repo.Load(ctx, id)
			if err != nil || l.Version != 11 || !reflect.DeepEqual(l.State, want(10)) || !l.At.Equal(times[9]) {
				t.Fatalf("%s: load %+v, %v", when, l, err)
			}
			for v := uint64(1); v <= 11; v++ {
				l, err := repo.LoadVersion(ctx, id, v)
				if err != nil || l.Version != v || !reflect.DeepEqual(l.State, want(int(v)-1)) {
					t.Fatalf("%s: load version %d: %+v, %v; want %+v", when, v, l, err, want(int(v)-1))
				}
			}
			if _, err := repo.LoadVersion(ctx, id, 12); !errors.Is(err, aggregate.ErrNoVersion) {
				t.Fatalf("%s: load version 12: %v, want ErrNoVersion", when, err)
			}
			for i, at := range times {
				l, err := repo.LoadAt(ctx, id, at.Add(30*time.Minute))
				if err != nil || l.Version != uint64(i+2) || !reflect.DeepEqual(l.State, want(i+1)) {
					t.Fatalf("%s: load at %v: %+v, %v", when, at, l, err)
				}
			}
			if l, err := repo.LoadAt(ctx, id, times[0].Add(-2*time.Hour)); err != nil || l.Version != 0 {
				t.Fatalf("%s: load before the first event: %+v, %v", when, l, err)
			}
		}
		check(fmt.Sprintf("snapshots every %d", every))
		if every > 0 {
			if _, ok, _ := s.LoadSnapshot(ctx, "orders/"+id+"/events"); !ok {
				t.Fatalf("no snapshot was taken every %d events", every)
			}
		}
		if err := s.DeleteSnapshots(ctx, "orders/"+id+"/events"); err != nil {
			t.Fatal(err)
		}
		check("snapshots deleted")
	}
}

// TestHandleRetriesOnConflict: a cached state that another writer made
// stale is corrected by the append's check; concurrent commands on one
// instance all land, each deciding on the state it appended after.
func TestHandleRetriesOnConflict(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	repo := newRepo(t, s, defineOrders(), aggregate.WithMaxAttempts(50))
	other := newRepo(t, s, defineOrders(), aggregate.WithMaxAttempts(50))
	if _, err := repo.Handle(ctx, "c1", place("ada")); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Handle(ctx, "c1", addItem("pen", 1, 5)); err != nil { // repo's cache is now stale
		t.Fatal(err)
	}
	res, err := repo.Handle(ctx, "c1", addItem("ink", 1, 7))
	if err != nil || res.Version != 3 {
		t.Fatalf("handle on a stale cache: %+v, %v", res, err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		r := []*aggregate.Repository[order, orderEvent]{repo, other}[g%2]
		wg.Go(func() {
			for range 5 {
				if _, err := r.Handle(ctx, "c1", addItem("pen", 1, 1)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	l, err := newRepo(t, s, defineOrders()).Load(ctx, "c1")
	if err != nil || l.Version != 43 || l.State.Items["pen"] != 41 || l.State.Total != 5+7+40 {
		t.Fatalf("after concurrent commands: %+v, %v", l, err)
	}
}

// TestHandleTooManyConflicts: with every attempt losing its race, Handle
// fails with ErrTooManyConflicts, which wraps the last conflict.
func TestHandleTooManyConflicts(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	repo := newRepo(t, s, defineOrders(), aggregate.WithMaxAttempts(2), aggregate.WithCache(0))
	if _, err := repo.Handle(ctx, "tm", place("ada")); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	_, err := repo.Handle(ctx, "tm", func(o order) ([]orderEvent, error) {
		attempts++
		// Someone else writes between every load and append.
		if _, err := s.Append(ctx, "orders/tm/events", []eventstore.Event{{Type: "OrderPaid", Data: []byte(`{}`)}}); err != nil {
			t.Fatal(err)
		}
		return []orderEvent{itemAdded{SKU: "x", Qty: 1}}, nil
	})
	if !errors.Is(err, aggregate.ErrTooManyConflicts) || !errors.Is(err, eventstore.ErrConcurrency) || attempts != 2 {
		t.Fatalf("handle: %v after %d attempts; want ErrTooManyConflicts wrapping ErrConcurrency after 2", err, attempts)
	}
	var ce *eventstore.ConcurrencyError
	if !errors.As(err, &ce) {
		t.Fatalf("no *ConcurrencyError in %v", err)
	}
}

// TestHandleNoEvents: a decider that returns nothing appends nothing; a
// decider's error is returned as it is.
func TestHandleNoEvents(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	repo := newRepo(t, s, defineOrders())
	if _, err := repo.Handle(ctx, "ne", place("ada")); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Handle(ctx, "ne", pay); err != nil {
		t.Fatal(err)
	}
	res, err := repo.Handle(ctx, "ne", pay) // paid already: no events
	if err != nil || res.Version != 2 || len(res.Events) != 0 {
		t.Fatalf("no-op command: %+v, %v", res, err)
	}
	if _, err := repo.Handle(ctx, "ne", addItem("x", 1, 1)); !errors.Is(err, errPaid) {
		t.Fatalf("refused command: %v, want errPaid", err)
	}
	if h, _ := s.Head(ctx, "orders/ne/events"); h.Version != 2 {
		t.Fatalf("stream at version %d, want 2", h.Version)
	}
}

// TestCommandIDExactlyOnce: a command id handled again (a retry, many
// goroutines at once, another repository) returns the original result and
// appends nothing, also when the command would now be refused.
func TestCommandIDExactlyOnce(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	repo := newRepo(t, s, defineOrders())
	first, err := repo.Handle(ctx, "x1", place("ada"), aggregate.CommandID("cmd-place"))
	if err != nil || first.Duplicate {
		t.Fatal(first, err)
	}
	again, err := repo.Handle(ctx, "x1", place("ada"), aggregate.CommandID("cmd-place"))
	if err != nil || !again.Duplicate || again.Version != first.Version || !reflect.DeepEqual(again.Offsets, first.Offsets) ||
		!reflect.DeepEqual(again.Events, first.Events) {
		t.Fatalf("retry: %+v, %v; want the original %+v", again, err, first)
	}
	// Many at once, from two repositories (two caches).
	other := newRepo(t, s, defineOrders())
	var mu sync.Mutex
	var results []aggregate.Result[orderEvent]
	var wg sync.WaitGroup
	for g := range 16 {
		r := []*aggregate.Repository[order, orderEvent]{repo, other}[g%2]
		wg.Go(func() {
			res, err := r.Handle(ctx, "x1", addItem("pen", 2, 3), aggregate.CommandID("cmd-add"))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			results = append(results, res)
			mu.Unlock()
		})
	}
	wg.Wait()
	fresh := 0
	for _, r := range results {
		if !r.Duplicate {
			fresh++
		}
		if r.Version != results[0].Version || !reflect.DeepEqual(r.Offsets, results[0].Offsets) || !reflect.DeepEqual(r.Events, results[0].Events) {
			t.Fatalf("results differ: %+v and %+v", r, results[0])
		}
	}
	l, err := repo.Load(ctx, "x1")
	if fresh != 1 || err != nil || l.Version != 2 || l.State.Items["pen"] != 2 {
		t.Fatalf("%d appended, state %+v, %v; want one append", fresh, l, err)
	}
	// Producer numbering: the same sequence number again is a duplicate.
	p1, err := repo.Handle(ctx, "x1", addItem("ink", 1, 1), aggregate.Producer("importer", 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	p2, err := repo.Handle(ctx, "x1", addItem("ink", 1, 1), aggregate.Producer("importer", 1, 0))
	if err != nil || !p2.Duplicate || p2.Version != p1.Version || !reflect.DeepEqual(p2.Events, p1.Events) {
		t.Fatalf("producer retry: %+v, %v; want %+v", p2, err, p1)
	}
	if _, err := repo.Handle(ctx, "x1", addItem("ink", 1, 1), aggregate.Producer("importer", 0, 1)); !errors.Is(err, eventstore.ErrStaleEpoch) {
		t.Fatalf("stale producer epoch: %v", err)
	}
}

// TestCodecStableNamesAndUpcasting: events are stored under their
// registered names (a renamed Go type still reads them), an event stored
// in an old shape is upcast on read, and an unknown or undecodable event
// is an error naming stream, version and type.
func TestCodecStableNamesAndUpcasting(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	stream := "orders/old/events"
	old := []eventstore.Event{
		{Type: "OrderPlaced", Data: []byte(`{"customer":"ada"}`)},
		{Type: "ItemAdded", Data: []byte(`{"sku":"pen","quantity":3}`)}, // schema 1: no metadata
		{Type: "ItemAdded", Data: []byte(`{"sku":"ink","qty":1,"price":50}`), Metadata: map[string]string{aggregate.MetaSchema: "2"}},
	}
	if _, err := s.Append(ctx, stream, old); err != nil {
		t.Fatal(err)
	}
	repo := newRepo(t, s, defineOrders())
	l, err := repo.Load(ctx, "old")
	if err != nil || l.State.Total != 3*100+50 || l.State.Items["pen"] != 3 {
		t.Fatalf("load of old shapes: %+v, %v", l, err)
	}
	res, err := repo.Handle(ctx, "old", addItem("cap", 1, 5))
	if err != nil {
		t.Fatal(err)
	}
	stored := collectEvents(t, s, stream)
	if e := stored[len(stored)-1]; e.Type != "ItemAdded" || e.Metadata[aggregate.MetaSchema] != "2" || res.Version != 4 {
		t.Fatalf("stored as %+v", e)
	}
	for i, c := range []struct {
		ev   eventstore.Event
		kind error
	}{
		{eventstore.Event{Type: "OrderShredded", Data: []byte(`{}`)}, aggregate.ErrUnknownEvent},
		{eventstore.Event{Type: "ItemAdded", Data: []byte(`{"sku":`), Metadata: map[string]string{aggregate.MetaSchema: "2"}}, aggregate.ErrDecode},
		{eventstore.Event{Type: "ItemAdded", Data: []byte(`{}`), Metadata: map[string]string{aggregate.MetaSchema: "7"}}, aggregate.ErrDecode},
		{eventstore.Event{Type: "ItemAdded", Data: []byte(`not json`)}, aggregate.ErrDecode}, // upcaster fails
	} {
		bad := fmt.Sprintf("orders/bad-%d/events", i)
		if _, err := s.Append(ctx, bad, []eventstore.Event{{Type: "OrderPlaced", Data: []byte(`{}`)}, c.ev}); err != nil {
			t.Fatal(err)
		}
		id := strings.TrimSuffix(strings.TrimPrefix(bad, "orders/"), "/events")
		_, err := repo.Load(ctx, id)
		var ee *aggregate.EventError
		if !errors.Is(err, c.kind) || !errors.As(err, &ee) || ee.Stream != bad || ee.Version != 2 || ee.Type != c.ev.Type {
			t.Errorf("load of %s: %v; want %v naming the stream, version 2 and type %s", bad, err, c.kind, c.ev.Type)
		}
	}
	// A type the definition does not know cannot be appended.
	type stray struct{ orderPlaced }
	if _, err := repo.Handle(ctx, "old", func(order) ([]orderEvent, error) { return []orderEvent{stray{}}, nil }); !errors.Is(err, aggregate.ErrUnknownEvent) {
		t.Fatalf("unregistered event type: %v", err)
	}
}

// TestDefinitionMistakes: a definition's mistakes are refused by
// NewRepository.
func TestDefinitionMistakes(t *testing.T) {
	s := openStore(t)
	d := defineOrders()
	aggregate.On(d, "OrderPlaced", func(s order, e orderPaid) order { return s }) // name taken
	if _, err := aggregate.NewRepository(s, d); !errors.Is(err, aggregate.ErrDefinition) {
		t.Errorf("duplicate name: %v", err)
	}
	d = defineOrders()
	aggregate.On(d, "Strange", func(s order, e string) order { return s }) // not an orderEvent
	if _, err := aggregate.NewRepository(s, d); !errors.Is(err, aggregate.ErrDefinition) {
		t.Errorf("not an event type: %v", err)
	}
	d = aggregate.Define[order, orderEvent]("orders", order{})
	aggregate.On(d, "ItemAdded", func(s order, e itemAdded) order { return s }, aggregate.Schema(3), aggregate.Upcaster(1, upcastItemAdded))
	if _, err := aggregate.NewRepository(s, d); !errors.Is(err, aggregate.ErrDefinition) {
		t.Errorf("missing upcaster: %v", err)
	}
	for name, register := range map[string]func(*aggregate.Definition[order, orderEvent]){
		"error name twice": func(d *aggregate.Definition[order, orderEvent]) {
			d.RegisterError("e", errPlaced)
			d.RegisterError("e", errPaid)
		},
		"error twice": func(d *aggregate.Definition[order, orderEvent]) {
			d.RegisterError("a", errPlaced)
			d.RegisterError("b", errPlaced)
		},
		"no name":  func(d *aggregate.Definition[order, orderEvent]) { d.RegisterError("", errPlaced) },
		"no error": func(d *aggregate.Definition[order, orderEvent]) { d.RegisterError("x", nil) },
	} {
		d := defineOrders()
		register(d)
		if _, err := aggregate.NewRepository(s, d); !errors.Is(err, aggregate.ErrDefinition) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestNilCodecIsAMistake: WithCodec(nil) or WithStateCodec(nil) is a
// mistake of the definition (ErrDefinition), refused by NewRepository,
// not a nil dereference at the first command.
func TestNilCodecIsAMistake(t *testing.T) {
	s := openStore(t)
	for name, opt := range map[string]aggregate.DefineOption{
		"WithCodec(nil)":      aggregate.WithCodec(nil),
		"WithStateCodec(nil)": aggregate.WithStateCodec(nil),
	} {
		d := aggregate.Define[order, orderEvent]("orders", order{}, opt)
		if err := d.Err(); !errors.Is(err, aggregate.ErrDefinition) {
			t.Errorf("%s: Err() = %v, want ErrDefinition", name, err)
		}
		if _, err := aggregate.NewRepository(s, d); !errors.Is(err, aggregate.ErrDefinition) {
			t.Errorf("%s: NewRepository: %v, want ErrDefinition", name, err)
		}
	}
}

// TestNilOptions: a nil option (a DefineOption, an EventOption, an
// Option, a HandleOption: one a caller left unset, or built
// conditionally) is ignored, as eventstore's are, not a nil dereference.
func TestNilOptions(t *testing.T) {
	s := openStore(t)
	if err := aggregate.Define[order, orderEvent]("orders", order{}, nil).Err(); err != nil {
		t.Errorf("a nil DefineOption: %v", err)
	}
	d := aggregate.Define[order, orderEvent]("others", order{})
	aggregate.On(d, "Paid", func(o order, e orderPaid) order { return o }, nil)
	if err := d.Err(); err != nil {
		t.Errorf("a nil EventOption: %v", err)
	}
	repo, err := aggregate.NewRepository(s, defineOrders(), nil, aggregate.WithMaxAttempts(1), nil)
	if err != nil {
		t.Fatalf("nil Options: %v", err)
	}
	defer repo.Close()
	if _, err := repo.Handle(context.Background(), "nil-opt", place("ada"), nil, aggregate.CommandID("c1"), nil); err != nil {
		t.Fatalf("a nil HandleOption: %v", err)
	}
	// The options around the nil ones still apply: the command id's
	// second use is a duplicate.
	res, err := repo.Handle(context.Background(), "nil-opt", place("ada"), aggregate.CommandID("c1"))
	if err != nil || !res.Duplicate {
		t.Errorf("the command again: %+v, %v; want a duplicate", res, err)
	}
	if h, _ := s.Head(context.Background(), "orders/nil-opt/events"); h.Version != 1 {
		t.Errorf("the stream holds %d events, want 1", h.Version)
	}
}

// TestNewRepositoryWithoutStore: NewRepository without a store or a
// definition is an error (ErrInvalidOption, ErrDefinition), not a nil
// dereference in the caller's goroutine.
func TestNewRepositoryWithoutStore(t *testing.T) {
	if _, err := aggregate.NewRepository(nil, defineOrders()); !errors.Is(err, eventstore.ErrInvalidOption) {
		t.Errorf("no store: %v, want ErrInvalidOption", err)
	}
	if _, err := aggregate.NewRepository[order, orderEvent](openStore(t), nil); !errors.Is(err, aggregate.ErrDefinition) {
		t.Errorf("no definition: %v, want ErrDefinition", err)
	}
}

// TestIDs: ids that cannot name one stream are refused.
func TestIDs(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	repo := newRepo(t, s, defineOrders())
	for _, id := range []string{"", "a/b", "..", ".", "tab\there", strings.Repeat("x", aggregate.MaxIDLen+1), "\xff"} {
		if _, err := repo.Load(ctx, id); !errors.Is(err, aggregate.ErrInvalidID) {
			t.Errorf("load %q: %v, want ErrInvalidID", id, err)
		}
		if _, err := repo.Handle(ctx, id, place("x")); !errors.Is(err, aggregate.ErrInvalidID) {
			t.Errorf("handle %q: %v, want ErrInvalidID", id, err)
		}
	}
	d := defineOrders(aggregate.WithStreamName(func(id string) string { return "shop/orders/" + id }))
	r2 := newRepo(t, s, d)
	if _, err := r2.Handle(ctx, "o-1", place("ada")); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.Head(ctx, "shop/orders/o-1"); h.Version != 1 {
		t.Fatalf("custom stream name not used")
	}
	// A stream name function that makes a name the store refuses: the
	// error says which name, not that the id does not fit.
	d = defineOrders(aggregate.WithStreamName(func(id string) string { return "../" + id }))
	r3 := newRepo(t, s, d)
	_, err := r3.Handle(ctx, "o-2", place("ada"))
	if !errors.Is(err, aggregate.ErrInvalidID) || !strings.Contains(err.Error(), `"../o-2"`) || strings.Contains(err.Error(), "do not fit") {
		t.Fatalf("a stream name with a '..' segment: %v; want ErrInvalidID naming the stream name made", err)
	}
}

// TestCacheIsolated: a decider that changes the state it is given, or an
// evolve that changes maps in place, cannot change the cached state.
func TestCacheIsolated(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	repo := newRepo(t, s, defineOrders())
	if _, err := repo.Handle(ctx, "iso", place("ada")); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Handle(ctx, "iso", addItem("pen", 1, 1)); err != nil {
		t.Fatal(err)
	}
	_, err := repo.Handle(ctx, "iso", func(o order) ([]orderEvent, error) {
		o.Items["pen"] = 999 // a misbehaving decider
		o.Total = -1
		return nil, errors.New("refused")
	})
	if err == nil {
		t.Fatal("no error")
	}
	res, err := repo.Handle(ctx, "iso", func(o order) ([]orderEvent, error) {
		if o.Items["pen"] != 1 || o.Total != 1 {
			return nil, fmt.Errorf("the cached state was changed: %+v", o)
		}
		return []orderEvent{itemAdded{SKU: "pen", Qty: 1, Price: 1}}, nil
	})
	if err != nil || res.Version != 3 {
		t.Fatal(res, err)
	}
}

// TestSnapshotSkipped: a snapshot of another fold (state schema), or one
// that does not decode, is skipped with a log line and the stream
// replayed.
func TestSnapshotSkipped(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	repo := newRepo(t, s, defineOrders(), aggregate.WithSnapshotEvery(0))
	if _, err := repo.Handle(ctx, "sk", place("ada")); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Handle(ctx, "sk", addItem("pen", 2, 5)); err != nil {
		t.Fatal(err)
	}
	stream := "orders/sk/events"
	// The tag of a snapshot of this fold, as the repository writes it.
	if err := repo.Snapshot(ctx, "sk"); err != nil {
		t.Fatal(err)
	}
	kept, err := s.Snapshots(ctx, stream)
	if err != nil || len(kept) != 1 {
		t.Fatalf("snapshots: %+v, %v", kept, err)
	}
	for _, snap := range []eventstore.Snapshot{
		{Stream: stream, Version: 2, Schema: "1", Data: []byte(`{"status":"WRONG"}`)},
		{Stream: stream, Version: 2, Schema: kept[0].Schema, Data: []byte(`{"status":`)},
	} {
		if err := s.SaveSnapshot(ctx, snap); err != nil {
			t.Fatal(err)
		}
		r := newRepo(t, s, defineOrders(), aggregate.WithLogger(logger), aggregate.WithCache(0))
		l, err := r.Load(ctx, "sk")
		if err != nil || l.State.Status != "placed" || l.State.Total != 10 || l.Version != 2 {
			t.Fatalf("load with a bad snapshot (%s): %+v, %v", snap.Data, l, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "another fold") || !strings.Contains(logs.String(), "does not decode") {
		t.Fatalf("log lines: %s", logs.String())
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func collectEvents(t testing.TB, s *eventstore.Store, stream string) []eventstore.Event {
	t.Helper()
	var out []eventstore.Event
	for e, err := range s.Read(context.Background(), stream) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// TestHandleRefusalOnStaleCache: a decider that refuses a cached state is
// asked again on the stream as it is: another writer may have made the
// command valid.
func TestHandleRefusalOnStaleCache(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	a := newRepo(t, s, defineOrders())
	b := newRepo(t, s, defineOrders())
	if _, err := a.Load(ctx, "stale"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Handle(ctx, "stale", addItem("pen", 1, 1)); !errors.Is(err, errNotPlaced) {
		t.Fatalf("add to an order nobody placed: %v", err) // a now caches the unplaced order
	}
	if _, err := b.Handle(ctx, "stale", place("ada")); err != nil {
		t.Fatal(err)
	}
	res, err := a.Handle(ctx, "stale", addItem("pen", 1, 1))
	if err != nil || res.Version != 2 {
		t.Fatalf("add after another repository placed the order: %+v, %v; want version 2", res, err)
	}
}
