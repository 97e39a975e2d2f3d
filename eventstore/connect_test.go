package eventstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/rewindhq/rewind/eventstore"
)

// Connect mode: several stores, each with its own read index, on one
// JetStream log. A read in any of them sees every append acknowledged
// before it began, whichever store made it; expectations are checked by
// the server across stores.

// connServer opens an embedded store that accepts NATS clients on
// loopback and returns it with its client URL.
func connServer(t testing.TB) (*eventstore.Store, string) {
	t.Helper()
	s, err := eventstore.Open(context.Background(), t.TempDir(), eventstore.WithListen("127.0.0.1", 0))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	url := s.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") {
		t.Fatalf("ClientURL %q", url)
	}
	return s, url
}

// connStore connects a store with its own index directory.
func connStore(t testing.TB, url string) *eventstore.Store {
	t.Helper()
	s, err := eventstore.Connect(context.Background(), url, eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// connCheckSees fails unless s's Read and Head of a stream end with the
// acknowledged append res.
func connCheckSees(t testing.TB, ctx context.Context, who string, s *eventstore.Store, res eventstore.AppendResult, ids []uuid.UUID) {
	t.Helper()
	evs := collect(t, s.Read(ctx, res.Stream))
	if uint64(len(evs)) != res.Version {
		t.Fatalf("%s: Read(%q) has %d events right after an append acknowledged version %d", who, res.Stream, len(evs), res.Version)
	}
	for i, id := range ids {
		e := evs[res.FirstVersion-1+uint64(i)]
		if e.ID != id || e.Offset != res.Offsets[i] {
			t.Fatalf("%s: Read(%q) version %d: id %v offset %s, acknowledged id %v offset %s", who, res.Stream, e.Version, e.ID, e.Offset, id, res.Offsets[i])
		}
	}
	h, err := s.Head(ctx, res.Stream)
	if err != nil {
		t.Fatalf("%s: Head(%q): %v", who, res.Stream, err)
	}
	if h.Version != res.Version || h.Offset != res.Offset() {
		t.Fatalf("%s: Head(%q) = %+v right after an append acknowledged version %d at %s", who, res.Stream, h, res.Version, res.Offset())
	}
}

func connEvents(n int, tag string) ([]eventstore.Event, []uuid.UUID) {
	evs := make([]eventstore.Event, n)
	ids := make([]uuid.UUID, n)
	for i := range evs {
		ids[i] = uuid.New()
		evs[i] = eventstore.Event{ID: ids[i], Type: "Noted", Data: []byte(tag)}
	}
	return evs, ids
}

// TestConnectReadsOthersWrites appends through two Connect stores in turn,
// to the same streams: right after each acknowledged append by one, the
// other's Read and Head include it.
func TestConnectReadsOthersWrites(t *testing.T) {
	ctx := context.Background()
	_, url := connServer(t)
	stores := []*eventstore.Store{connStore(t, url), connStore(t, url)}
	names := []string{"A", "B"}
	rng := indexRand(t)
	streams := []string{"shared/1", "shared/2", "shared/3"}
	for i := range 200 {
		w := rng.IntN(2)
		evs, ids := connEvents(1+rng.IntN(3), fmt.Sprint(i))
		var opts []eventstore.AppendOption
		if rng.IntN(2) == 0 {
			opts = append(opts, eventstore.ExpectAny())
		}
		res, err := stores[w].Append(ctx, streams[rng.IntN(len(streams))], evs, opts...)
		if err != nil {
			t.Fatalf("%s: append: %v", names[w], err)
		}
		connCheckSees(t, ctx, names[1-w], stores[1-w], res, ids)
		if rng.IntN(4) == 0 {
			connCheckSees(t, ctx, names[w], stores[w], res, ids)
		}
	}
	for _, s := range stores {
		checkIndexWithLog(t, ctx, s, streams, rng, 3)
	}
}

// TestConnectEmbeddedOwnerReadsConnectWrites appends through Connect
// stores to an embedded server opened WithListen: the embedded store's own
// reads must include those appends as soon as they are acknowledged, as
// any other store's do.
func TestConnectEmbeddedOwnerReadsConnectWrites(t *testing.T) {
	ctx := context.Background()
	owner, url := connServer(t)
	// A flood of small appends from many goroutines keeps the embedded
	// store's tailer busy (it records its position once per batch), while
	// one writer checks each of its acknowledged appends against the
	// embedded store's reads.
	flood := connStore(t, url)
	fctx, stopFlood := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; fctx.Err() == nil; i++ {
				_, err := flood.Append(fctx, fmt.Sprintf("flood/%d", g), []eventstore.Event{ev("Flooded", "x")})
				if err != nil && fctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		})
	}
	defer func() { stopFlood(); wg.Wait() }()

	a := connStore(t, url)
	stale, first := 0, ""
	const n = 300
	for i := range n {
		evs, ids := connEvents(1, fmt.Sprint(i))
		res, err := a.Append(ctx, "owned/1", evs)
		if err != nil {
			t.Fatal(err)
		}
		got := collect(t, owner.Read(ctx, "owned/1"))
		h, err := owner.Head(ctx, "owned/1")
		if err != nil {
			t.Fatal(err)
		}
		if uint64(len(got)) < res.Version || got[res.Version-1].ID != ids[0] || h.Version < res.Version {
			if stale == 0 {
				first = fmt.Sprintf("version %d was acknowledged to a Connect store; the embedded store then read %d events, head %d",
					res.Version, len(got), h.Version)
			}
			stale++
		}
	}
	if stale > 0 {
		t.Errorf("%d of %d reads by the embedded store missed an append a Connect store had been acknowledged; first: %s", stale, n, first)
	}
}

// connIncrement adds one to the counter kept in stream by read, modify,
// write: read the last value, append value+1 expecting the version read,
// retry on a conflict. It returns the number of conflicts.
func connIncrement(ctx context.Context, s *eventstore.Store, stream string) (conflicts int, err error) {
	for {
		h, err := s.Head(ctx, stream)
		if err != nil {
			return conflicts, err
		}
		value := 0
		if h.Version > 0 {
			evs, err := ixReadEvents(s.Read(ctx, stream, eventstore.FromVersion(h.Version), eventstore.ToVersion(h.Version)))
			if err != nil {
				return conflicts, err
			}
			if len(evs) != 1 {
				return conflicts, fmt.Errorf("read version %d of %q: %d events", h.Version, stream, len(evs))
			}
			if value, err = strconv.Atoi(string(evs[0].Data)); err != nil {
				return conflicts, err
			}
		}
		_, err = s.Append(ctx, stream, []eventstore.Event{{Type: "Incremented", Data: []byte(strconv.Itoa(value + 1))}},
			eventstore.ExpectVersion(h.Version))
		if errors.Is(err, eventstore.ErrConcurrency) {
			conflicts++
			continue
		}
		return conflicts, err
	}
}

// connCheckCounter fails unless the counter stream holds n increments, the
// k-th holding k: no increment was lost or applied twice.
func connCheckCounter(t testing.TB, ctx context.Context, s *eventstore.Store, stream string, n int) {
	t.Helper()
	evs := collect(t, s.Read(ctx, stream))
	if len(evs) != n {
		t.Fatalf("%q holds %d increments, %d were acknowledged", stream, len(evs), n)
	}
	for i, e := range evs {
		if string(e.Data) != strconv.Itoa(i+1) {
			t.Fatalf("%q version %d holds %s, want %d: an update was lost", stream, e.Version, e.Data, i+1)
		}
	}
}

// TestConnectConcurrencyAcrossStores runs read-modify-write counters on one
// stream from two Connect stores at once (no update may be lost), appends
// without expectation from both at once (all are stored, once each), and
// checks that a store whose cached head is stale still detects a
// conflict.
func TestConnectConcurrencyAcrossStores(t *testing.T) {
	ctx := context.Background()
	owner, url := connServer(t)
	a, b := connStore(t, url), connStore(t, url)

	t.Run("counters", func(t *testing.T) {
		const perStore = 60
		var wg sync.WaitGroup
		conflicts := make([]int, 2)
		errs := make([]error, 2)
		for i, s := range []*eventstore.Store{a, b} {
			wg.Go(func() {
				for range perStore {
					c, err := connIncrement(ctx, s, "counter/1")
					conflicts[i] += c
					if err != nil {
						errs[i] = err
						return
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		t.Logf("conflicts detected and retried: A %d, B %d", conflicts[0], conflicts[1])
		for _, s := range []*eventstore.Store{a, b, owner} {
			connCheckCounter(t, ctx, s, "counter/1", 2*perStore)
		}
	})

	t.Run("no expectation", func(t *testing.T) {
		const perStore = 100
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []*eventstore.Store{a, b} {
			wg.Go(func() {
				for j := range perStore {
					if _, err := s.Append(ctx, "any/1", []eventstore.Event{ev("Noted", fmt.Sprintf("%d-%d", i, j))}, eventstore.ExpectAny()); err != nil {
						errs[i] = err
						return
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		for _, s := range []*eventstore.Store{a, b} {
			evs := collect(t, s.Read(ctx, "any/1"))
			if len(evs) != 2*perStore {
				t.Fatalf("%d events stored, %d appended", len(evs), 2*perStore)
			}
			seen := map[string]bool{}
			next := [2]int{}
			for _, e := range evs {
				var w, j int
				fmt.Sscanf(string(e.Data), "%d-%d", &w, &j)
				if seen[string(e.Data)] || next[w] != j {
					t.Fatalf("event %s at version %d: stored twice or out of its writer's order", e.Data, e.Version)
				}
				seen[string(e.Data)] = true
				next[w]++
			}
		}
	})

	t.Run("stale cached head", func(t *testing.T) {
		res, err := a.Append(ctx, "stale/1", []eventstore.Event{ev("Noted", "a")}, eventstore.ExpectNoStream())
		if err != nil {
			t.Fatal(err)
		}
		// A has cached version 1; B moves the stream to 2.
		if _, err := b.Append(ctx, "stale/1", []eventstore.Event{ev("Noted", "b")}, eventstore.ExpectVersion(res.Version)); err != nil {
			t.Fatal(err)
		}
		_, err = a.Append(ctx, "stale/1", []eventstore.Event{ev("Noted", "a2")}, eventstore.ExpectVersion(1))
		var ce *eventstore.ConcurrencyError
		if !errors.As(err, &ce) || !errors.Is(err, eventstore.ErrConcurrency) || ce.Expected != 1 || ce.Actual != 2 {
			t.Fatalf("append expecting 1 on a stream another store moved to 2: %v, want a conflict with actual 2", err)
		}
		_, err = a.Append(ctx, "stale/1", []eventstore.Event{ev("Noted", "a3")}, eventstore.ExpectNoStream())
		if !errors.Is(err, eventstore.ErrConcurrency) {
			t.Fatalf("ExpectNoStream on an existing stream: %v, want ErrConcurrency", err)
		}
		if res, err := a.Append(ctx, "stale/1", []eventstore.Event{ev("Noted", "a4")}, eventstore.ExpectVersion(2)); err != nil || res.Version != 3 {
			t.Fatalf("append expecting the actual version 2: %+v, %v", res, err)
		}
		evs := collect(t, b.Read(ctx, "stale/1"))
		var data []string
		for _, e := range evs {
			data = append(data, string(e.Data))
		}
		if strings.Join(data, ",") != "a,b,a4" {
			t.Fatalf("stream holds %v, want [a b a4]", data)
		}
	})
}

// TestConnectIndexDirLocked connects twice with one index directory: the
// second is refused with ErrLocked until the first closes; a store that
// reconnects with its index directory catches up with what others
// appended meanwhile.
func TestConnectIndexDirLocked(t *testing.T) {
	ctx := context.Background()
	owner, url := connServer(t)
	dir := t.TempDir()
	a, err := eventstore.Connect(ctx, url, eventstore.WithIndexDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Append(ctx, "locked/1", evs(3, 0)); err != nil {
		t.Fatal(err)
	}
	b, err := eventstore.Connect(ctx, url, eventstore.WithIndexDir(dir))
	if err == nil {
		b.Close()
		t.Fatal("a second Connect with the same index directory succeeded")
	}
	if !errors.Is(err, eventstore.ErrLocked) {
		t.Fatalf("second Connect with the same index directory: %v, want ErrLocked", err)
	}
	a.Close()

	if _, err := owner.Append(ctx, "locked/1", evs(4, 3)); err != nil {
		t.Fatal(err)
	}
	a, err = eventstore.Connect(ctx, url, eventstore.WithIndexDir(dir))
	if err != nil {
		t.Fatalf("Connect after the holder closed: %v", err)
	}
	defer a.Close()
	if got := collect(t, a.Read(ctx, "locked/1")); len(got) != 7 {
		t.Fatalf("reconnected store reads %d events, want 7", len(got))
	}
	checkIndexWithLog(t, ctx, a, []string{"locked/1"}, rand.New(rand.NewPCG(1, 1)), 5)
}

// TestConnectNoServer: a Connect that reaches no server fails with
// ErrUnavailable (transient: the same call succeeds once a server is up),
// still matching nats.ErrNoServers, and releases its index directory.
func TestConnectNoServer(t *testing.T) {
	dir := t.TempDir()
	_, err := eventstore.Connect(context.Background(), "nats://127.0.0.1:1", eventstore.WithIndexDir(dir))
	if !errors.Is(err, eventstore.ErrUnavailable) || !errors.Is(err, nats.ErrNoServers) {
		t.Fatalf("Connect with no server: %v, want ErrUnavailable and nats.ErrNoServers", err)
	}
	_, url := connServer(t)
	s, err := eventstore.Connect(context.Background(), url, eventstore.WithIndexDir(dir))
	if err != nil {
		t.Fatalf("Connect once a server is up: %v", err)
	}
	s.Close()
}

// TestConnectSubscribeSeesOtherStore subscribes through one Connect store
// to everything and to one stream, and appends through another: both
// subscriptions deliver the history and then every new event, in log
// order, exactly as the log holds them.
func TestConnectSubscribeSeesOtherStore(t *testing.T) {
	ctx := context.Background()
	_, url := connServer(t)
	a, b := connStore(t, url), connStore(t, url)
	for i := range 5 {
		if _, err := a.Append(ctx, fmt.Sprintf("sub/%d", i%2), evs(2, i)); err != nil {
			t.Fatal(err)
		}
	}
	sctx, cancel := context.WithCancel(ctx)
	type result struct {
		evs []eventstore.Event
		err error
	}
	subscribe := func(seq func(func(eventstore.Event, error) bool), want int) chan result {
		ch := make(chan result, 1)
		go func() {
			var r result
			for e, err := range seq {
				if err != nil {
					r.err = err
					break
				}
				if r.evs = append(r.evs, e); len(r.evs) == want {
					break
				}
			}
			ch <- r
		}()
		return ch
	}
	const later = 50
	all := subscribe(b.SubscribeAll(sctx), 10+later*2)
	one := subscribe(b.Subscribe(sctx, "sub/1"), 4+later)
	for i := range later {
		for _, name := range []string{"sub/0", "sub/1"} {
			if _, err := a.Append(ctx, name, evs(1, 100+i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	timeout := time.AfterFunc(20*time.Second, cancel)
	defer timeout.Stop()
	ra, r1 := <-all, <-one
	cancel()
	lv, err := ixReadLog(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if ra.err != nil {
		t.Fatalf("SubscribeAll: %v", ra.err)
	}
	if d := ixEventsDiff(ra.evs, lv.all); d != "" {
		t.Fatalf("SubscribeAll through another store: %s", d)
	}
	if r1.err != nil {
		t.Fatalf("Subscribe: %v", r1.err)
	}
	if d := ixEventsDiff(r1.evs, lv.byStream["sub/1"]); d != "" {
		t.Fatalf("Subscribe(sub/1) through another store: %s", d)
	}
}

func init() { children["connect-appender"] = connectAppenderChild }

// connectAppenderChild connects to $REWIND_CONNECT_URL with the index in
// $REWIND_CONNECT_INDEX and makes $REWIND_CONNECT_N rounds of: one
// increment of "shared/counter" (read, modify, write with ExpectVersion)
// and one append to a "child/" stream, printing for each acknowledged
// event
//
//	ack <stream> <version> <offset> <id>
//
// then "done <conflicts>".
func connectAppenderChild() int {
	ctx := context.Background()
	s, err := eventstore.Connect(ctx, os.Getenv("REWIND_CONNECT_URL"), eventstore.WithIndexDir(os.Getenv("REWIND_CONNECT_INDEX")))
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		return 1
	}
	defer s.Close()
	n, _ := strconv.Atoi(os.Getenv("REWIND_CONNECT_N"))
	conflicts := 0
	for i := range n {
		c, err := connIncrement(ctx, s, "shared/counter")
		conflicts += c
		if err != nil {
			fmt.Fprintln(os.Stderr, "increment:", err)
			return 1
		}
		id := uuid.New()
		res, err := s.Append(ctx, fmt.Sprintf("child/%d", i%3), []eventstore.Event{{ID: id, Type: "Noted", Data: []byte("child")}})
		if err != nil {
			fmt.Fprintln(os.Stderr, "append:", err)
			return 1
		}
		fmt.Printf("ack %s %d %s %s\n", res.Stream, res.Version, res.Offset(), id)
	}
	fmt.Printf("done %d\n", conflicts)
	return 0
}

// TestConnectChildProcess runs a second process that connects to this
// process's server and appends, while this process reads through its own
// Connect store and increments the same counter: each append the child
// reports is readable here at once, and no increment of either process is
// lost.
func TestConnectChildProcess(t *testing.T) {
	ctx := context.Background()
	owner, url := connServer(t)
	p := connStore(t, url)
	const n, mine = 80, 80

	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := ixChild(cctx, "connect-appender", "REWIND_CONNECT_URL="+url,
		"REWIND_CONNECT_INDEX="+t.TempDir(), fmt.Sprintf("REWIND_CONNECT_N=%d", n))
	stdout, stderr := ixStartChild(t, cmd)

	var wg sync.WaitGroup
	var myConflicts int
	var incErr error
	wg.Go(func() {
		for range mine {
			c, err := connIncrement(ctx, p, "shared/counter")
			myConflicts += c
			if err != nil {
				incErr = err
				return
			}
		}
	})

	acks, childConflicts := 0, -1
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "done" {
			childConflicts, _ = strconv.Atoi(f[1])
			continue
		}
		if len(f) != 5 || f[0] != "ack" {
			t.Errorf("child: %q", sc.Text())
			continue
		}
		version, _ := strconv.ParseUint(f[2], 10, 64)
		evs := collect(t, p.Read(ctx, f[1]))
		if uint64(len(evs)) < version || evs[version-1].Offset != eventstore.Offset(f[3]) || evs[version-1].ID.String() != f[4] {
			t.Fatalf("the child acknowledged %s version %d at %s; this process then read %d events", f[1], version, f[3], len(evs))
		}
		acks++
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	wg.Wait()
	if incErr != nil {
		t.Fatal(incErr)
	}
	if acks != n || childConflicts < 0 {
		t.Fatalf("child reported %d appends (done: %v), want %d", acks, childConflicts >= 0, n)
	}
	t.Logf("conflicts detected and retried: child %d, this process %d", childConflicts, myConflicts)
	for _, s := range []*eventstore.Store{p, owner} {
		connCheckCounter(t, ctx, s, "shared/counter", n+mine)
	}
	checkIndexWithLog(t, ctx, p, []string{"shared/counter", "child/0", "child/1", "child/2"}, rand.New(rand.NewPCG(1, 1)), 3)
}
