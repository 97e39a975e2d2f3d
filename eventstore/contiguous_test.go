package eventstore_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// A read can skip an event when another process writes the same stream:
// each store's index gets its own appends at once and the other process's
// through its tailer, a moment later, so for a while it holds version n+1
// (its own) without version n (the other's). A read must never show that:
// it yields versions 1, 2, 3, ... without a hole, and still sees every
// append acknowledged before it began.
//
// Two stores on one server, two writers on each appending to one stream
// without expectations, readers on both stores reading it all the time
// (whole, and its end), one subscription on each from the start.

// ctHash identifies one event at its version; a read's digest is the sum of
// its events' hashes, compared in the end with the log's over the same
// versions.
func ctHash(e eventstore.Event) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], e.Version)
	h.Write(b[:])
	h.Write(e.ID[:])
	h.Write([]byte(e.Offset))
	h.Write(e.Data)
	h.Write([]byte(e.Stream))
	return h.Sum64()
}

// ctSeen is what a read or subscription returned: versions from..to (to <
// from: none) with the digest of their events.
type ctSeen struct {
	who      string
	from, to uint64
	digest   uint64
}

// ctHead is what a Head returned.
type ctHead struct {
	who     string
	version uint64
	offset  eventstore.Offset
}

// ctRound is one round: one fresh stream, written and read through both
// stores.
type ctRound struct {
	t      *testing.T
	stream string
	stores [2]*eventstore.Store
	acked  [2]atomic.Uint64 // highest version acknowledged to each store's writers
	done   atomic.Bool      // the writers have stopped
	fails  *atomic.Int32
	holes  *atomic.Int64 // largest hole seen (versions skipped)

	mu    sync.Mutex
	seen  []ctSeen
	heads []ctHead
	reads atomic.Int64
}

var ctStoreNames = [2]string{"embedded", "connect"}

// failf reports a failure; after a few the rest are counted only.
func (r *ctRound) failf(format string, args ...any) {
	if r.fails.Add(1) <= 8 {
		r.t.Errorf(r.stream+": "+format, args...)
	}
}

func (r *ctRound) noteHole(n uint64) {
	for {
		cur := r.holes.Load()
		if int64(n) <= cur || r.holes.CompareAndSwap(cur, int64(n)) {
			return
		}
	}
}

func ctRaise(a *atomic.Uint64, v uint64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}

// write appends small events to the stream through store i until the
// deadline (or a bound on the count).
func (r *ctRound) write(ctx context.Context, i, w int, until time.Time) {
	for n := 0; n < 50000 && time.Now().Before(until); n++ {
		res, err := r.stores[i].Append(ctx, r.stream, []eventstore.Event{{Type: "Tick", Data: fmt.Appendf(nil, "%d.%d", w, n)}})
		if err != nil {
			r.failf("writer %d on the %s store: append: %v", w, ctStoreNames[i], err)
			return
		}
		ctRaise(&r.acked[i], res.Version)
	}
}

// read reads the stream through store i, whole or from near its
// acknowledged end, and Heads it, until the writers stop: every read must
// be contiguous and hold at least what was acknowledged to this store (and
// what its previous Head showed) before it began.
func (r *ctRound) read(ctx context.Context, i, reader int) {
	who := fmt.Sprintf("reader %d on the %s store", reader, ctStoreNames[i])
	s := r.stores[i]
	var sawHead uint64 // the last Head's version
	for k := 0; !r.done.Load() && k < 1_000_000; k++ {
		floor := max(r.acked[i].Load(), sawHead)
		from := uint64(1)
		if k%32 != 0 && floor > 16 {
			from = floor - 16
		}
		var opts []eventstore.ReadOption
		if from > 1 {
			opts = append(opts, eventstore.FromVersion(from))
		}
		next, digest := from, uint64(0)
		bad := false
		for e, err := range s.Read(ctx, r.stream, opts...) {
			if err != nil {
				r.failf("%s: Read from version %d: %v", who, from, err)
				return
			}
			if e.Version != next {
				if e.Version > next {
					r.noteHole(e.Version - next)
				}
				r.failf("%s: Read from version %d yields version %d after %d (a hole of %d; %d acknowledged to this store before the read)",
					who, from, e.Version, next-1, int64(e.Version)-int64(next), floor)
				bad = true
				break
			}
			digest += ctHash(e)
			next++
		}
		if bad {
			continue
		}
		r.reads.Add(1)
		got := next - 1
		if got < floor {
			r.failf("%s: Read from version %d ends at version %d, but %d was acknowledged to this store (or shown by its Head) before it began", who, from, got, floor)
		}
		r.mu.Lock()
		r.seen = append(r.seen, ctSeen{who, from, got, digest})
		r.mu.Unlock()

		if k%4 == 0 {
			floor := max(r.acked[i].Load(), got)
			h, err := s.Head(ctx, r.stream)
			if err != nil {
				r.failf("%s: Head: %v", who, err)
				return
			}
			if h.Version < floor {
				r.failf("%s: Head at version %d, but %d was acknowledged to this store (or read) before it began", who, h.Version, floor)
			}
			sawHead = h.Version
			r.mu.Lock()
			r.heads = append(r.heads, ctHead{who, h.Version, h.Offset})
			r.mu.Unlock()
		}
	}
}

// subscribe follows the stream from the start through store i until ctx
// ends and checks it delivers 1, 2, 3, ... (delivered[i] is how far it got).
func (r *ctRound) subscribe(ctx context.Context, i int, delivered *atomic.Uint64) {
	who := fmt.Sprintf("Subscribe on the %s store", ctStoreNames[i])
	next, digest := uint64(1), uint64(0)
	defer func() {
		r.mu.Lock()
		r.seen = append(r.seen, ctSeen{who, 1, next - 1, digest})
		r.mu.Unlock()
	}()
	for e, err := range r.stores[i].Subscribe(ctx, r.stream) {
		if err != nil {
			r.failf("%s: %v", who, err)
			return
		}
		if e.Version != next {
			if e.Version > next {
				r.noteHole(e.Version - next)
			}
			r.failf("%s delivers version %d after %d", who, e.Version, next-1)
			next = 1 // nothing to compare in the end
			return
		}
		digest += ctHash(e)
		delivered.Store(next)
		next++
	}
}

func TestContiguousReadsWithTwoWriters(t *testing.T) {
	ctx := context.Background()
	a, err := eventstore.Open(ctx, t.TempDir(), eventstore.WithListen("127.0.0.1", 0))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := eventstore.Connect(ctx, a.ClientURL(), eventstore.WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { b.Close() })

	const (
		rounds   = 6
		duration = 1200 * time.Millisecond
		writers  = 4 // two on each store
		readers  = 8 // on each store
	)
	var fails atomic.Int32
	var holes atomic.Int64
	for round := range rounds {
		r := &ctRound{t: t, stream: fmt.Sprintf("contiguous/%d", round), stores: [2]*eventstore.Store{a, b}, fails: &fails, holes: &holes}
		sctx, cancelSubs := context.WithTimeout(ctx, duration+8*time.Second)
		var delivered [2]atomic.Uint64
		var subs, rs, ws sync.WaitGroup
		for i := range 2 {
			subs.Go(func() { r.subscribe(sctx, i, &delivered[i]) })
		}
		until := time.Now().Add(duration)
		for w := range writers {
			ws.Go(func() { r.write(ctx, w%2, w, until) })
		}
		for k := range 2 * readers {
			rs.Go(func() { r.read(ctx, k%2, k/2) })
		}
		ws.Wait()
		r.done.Store(true)
		rs.Wait()

		// Every read, Head and subscription against the log.
		var final []eventstore.Event
		for e, err := range eventstore.ReadLog(ctx, a) {
			if err != nil {
				t.Fatalf("ReadLog: %v", err)
			}
			if e.Stream == r.stream {
				final = append(final, e)
			}
		}
		// The subscriptions catch up with the end, then stop.
		for i := range 2 {
			for delivered[i].Load() < uint64(len(final)) && sctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			if got := delivered[i].Load(); got < uint64(len(final)) {
				r.failf("Subscribe on the %s store delivered up to version %d of %d", ctStoreNames[i], got, len(final))
			}
		}
		cancelSubs()
		subs.Wait()
		for i, e := range final {
			if e.Version != uint64(i)+1 {
				t.Fatalf("%s: the log holds version %d at %d", r.stream, e.Version, i+1)
			}
		}
		acked := max(r.acked[0].Load(), r.acked[1].Load())
		if uint64(len(final)) != acked {
			t.Errorf("%s: the log holds %d events, %d were acknowledged", r.stream, len(final), acked)
		}
		prefix := make([]uint64, len(final)+1)
		for i, e := range final {
			prefix[i+1] = prefix[i] + ctHash(e)
		}
		for _, s := range r.seen {
			switch {
			case s.to < s.from:
			case s.to > uint64(len(final)):
				r.failf("%s read up to version %d, the log holds %d", s.who, s.to, len(final))
			case prefix[s.to]-prefix[s.from-1] != s.digest:
				r.failf("%s: versions %d..%d differ from the log's", s.who, s.from, s.to)
			}
		}
		for _, h := range r.heads {
			if h.version > uint64(len(final)) || h.version > 0 && final[h.version-1].Offset != h.offset {
				r.failf("%s: Head at version %d offset %s does not match the log", h.who, h.version, h.offset)
			}
		}
		for i, s := range r.stores {
			got, err := ixReadEvents(s.Read(ctx, r.stream))
			if err != nil {
				t.Fatalf("%s: final Read on the %s store: %v", r.stream, ctStoreNames[i], err)
			}
			if d := ixEventsDiff(got, final); d != "" {
				r.failf("final Read on the %s store differs from the log: %s", ctStoreNames[i], d)
			}
			h, err := s.Head(ctx, r.stream)
			if err != nil {
				t.Fatalf("%s: final Head on the %s store: %v", r.stream, ctStoreNames[i], err)
			}
			if d := ixHeadDiff(h, ixHeadOf(final)); d != "" {
				r.failf("final Head on the %s store: %s", ctStoreNames[i], d)
			}
		}
		t.Logf("%s: %d events (embedded store acknowledged up to %d, connect store up to %d), %d reads, %d heads",
			r.stream, len(final), r.acked[0].Load(), r.acked[1].Load(), r.reads.Load(), len(r.heads))
	}
	if n := fails.Load(); n > 0 {
		t.Errorf("%d failures in all; the largest hole a read or subscription showed was %d versions", n, holes.Load())
	}
}
