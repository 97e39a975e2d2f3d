package eventstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"

	"github.com/rewindhq/rewind/eventstore"
)

// The read index is a derived copy of the log, so every test here holds it
// to one standard: whatever the index serves (Read, Head, bounded reads)
// equals what the log says, read directly with ReadLog (export_test.go),
// which does not touch the index's copies of the commits.

var indexSeedFlag = flag.Uint64("index.seed", 0, "seed for the read index tests (0: random)")

// indexRand returns a random source whose seed is logged, so a failure can
// be replayed with -args -index.seed=N.
func indexRand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := *indexSeedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -args -index.seed=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, 0x5eed))
}

// indexStreams are the streams the random tests write: a few categories,
// names that prefix one another ("orders/1", "orders/10", "orders/1/items")
// and names whose bytes need escaping in subjects.
var indexStreams = []string{
	"orders/1", "orders/10", "orders/1/items", "orders/1/items/2", "orders/2",
	"orders/a.b", "orders/x y", "orders/%41", "orders/*", "orders/>",
	"users/alice", "users/Alice", "users/bob", "users/ünï", "users/a-b_c", "users/日本",
	"payments", "payments/p-1", "payments/p_2", "payments/p.3", "payments/p.3/refunds",
	"cat.dot/1", "cat.dot/2", "sp ace/1", "emoji/🙂", "Orders/1",
	"x/1", "x/2", "x/3", "x/4",
}

var (
	indexEventTypes = []string{"Created", "Renamed", "ItemAdded", "Ünïcode type", "a.b*c>"}
	indexMetaValues = []string{"", "v", "a=b&c", "ünï", "\x00\xff"}
)

// ixRandomEvents makes n events with random ids (or none, to be generated),
// times (or none), data (nil, empty, binary, JSON) and metadata.
func ixRandomEvents(rng *rand.Rand, n int) []eventstore.Event {
	out := make([]eventstore.Event, n)
	for i := range out {
		e := eventstore.Event{Type: indexEventTypes[rng.IntN(len(indexEventTypes))]}
		if rng.IntN(2) == 0 {
			e.ID = ixRandomID(rng)
		}
		if rng.IntN(2) == 0 {
			e.Time = time.Unix(0, rng.Int64()-rng.Int64()) // any UnixNano, negative too
		}
		switch rng.IntN(4) {
		case 0: // nil data
		case 1:
			e.Data = []byte{}
		case 2:
			e.Data = make([]byte, 1+rng.IntN(64))
			for j := range e.Data {
				e.Data[j] = byte(rng.Uint32())
			}
		default:
			e.Data = fmt.Appendf(nil, `{"n":%d,"s":"%x"}`, rng.Int(), rng.Uint64())
		}
		switch rng.IntN(3) {
		case 0: // nil metadata
		case 1:
			e.Metadata = map[string]string{}
		default:
			e.Metadata = map[string]string{}
			for j := rng.IntN(3); j >= 0; j-- {
				e.Metadata[fmt.Sprintf("k%d", rng.IntN(5))] = indexMetaValues[rng.IntN(len(indexMetaValues))]
			}
		}
		out[i] = e
	}
	return out
}

func ixRandomID(rng *rand.Rand) uuid.UUID {
	var id uuid.UUID
	for id == uuid.Nil {
		for j := range id {
			id[j] = byte(rng.Uint32())
		}
	}
	return id
}

// ixEventDiff says how got differs from want, or returns "". A zero ID or
// Time in want, or a zero StoredAt, is not compared (the store chose it
// and the caller does not know it yet).
func ixEventDiff(got, want eventstore.Event) string {
	var d []string
	if want.ID != uuid.Nil && got.ID != want.ID {
		d = append(d, fmt.Sprintf("ID %v, want %v", got.ID, want.ID))
	}
	if got.ID == uuid.Nil {
		d = append(d, "nil ID")
	}
	if got.Type != want.Type {
		d = append(d, fmt.Sprintf("Type %q, want %q", got.Type, want.Type))
	}
	if !want.Time.IsZero() && !got.Time.Equal(want.Time) {
		d = append(d, fmt.Sprintf("Time %v, want %v", got.Time, want.Time))
	}
	if !bytes.Equal(got.Data, want.Data) {
		d = append(d, fmt.Sprintf("Data %q, want %q", got.Data, want.Data))
	}
	if !maps.Equal(got.Metadata, want.Metadata) {
		d = append(d, fmt.Sprintf("Metadata %v, want %v", got.Metadata, want.Metadata))
	}
	if got.Stream != want.Stream {
		d = append(d, fmt.Sprintf("Stream %q, want %q", got.Stream, want.Stream))
	}
	if got.Version != want.Version {
		d = append(d, fmt.Sprintf("Version %d, want %d", got.Version, want.Version))
	}
	if got.Offset != want.Offset {
		d = append(d, fmt.Sprintf("Offset %s, want %s", got.Offset, want.Offset))
	}
	if !want.StoredAt.IsZero() && !got.StoredAt.Equal(want.StoredAt) {
		d = append(d, fmt.Sprintf("StoredAt %v, want %v", got.StoredAt, want.StoredAt))
	}
	return strings.Join(d, "; ")
}

// ixEventsDiff compares two event lists and describes the first difference.
func ixEventsDiff(got, want []eventstore.Event) string {
	for i := range min(len(got), len(want)) {
		if d := ixEventDiff(got[i], want[i]); d != "" {
			return fmt.Sprintf("event %d (version %d): %s", i, want[i].Version, d)
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d events, want %d (versions %s, want %s)", len(got), len(want), ixVersions(got), ixVersions(want))
	}
	return ""
}

func ixVersions(evs []eventstore.Event) string {
	if len(evs) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d..%d", evs[0].Version, evs[len(evs)-1].Version)
}

// ixReadEvents reads an iterator to the end, returning its error.
func ixReadEvents(seq iter.Seq2[eventstore.Event, error]) ([]eventstore.Event, error) {
	var out []eventstore.Event
	for e, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

// ixLogView is the log as ReadLog (the log itself, not the index's
// log-ordered copy) returns it, grouped by stream.
type ixLogView struct {
	all      []eventstore.Event
	byStream map[string][]eventstore.Event
}

// ixReadLog reads the whole log and checks what must hold of any log:
// offsets strictly increase, each stream's versions run 1, 2, 3, ...
func ixReadLog(ctx context.Context, s *eventstore.Store) (ixLogView, error) {
	all, err := ixReadEvents(eventstore.ReadLog(ctx, s))
	if err != nil {
		return ixLogView{}, err
	}
	lv := ixLogView{all: all, byStream: map[string][]eventstore.Event{}}
	for i, e := range all {
		if i > 0 && e.Offset <= all[i-1].Offset {
			return lv, fmt.Errorf("log: offset %s after %s", e.Offset, all[i-1].Offset)
		}
		evs := lv.byStream[e.Stream]
		if e.Version != uint64(len(evs))+1 {
			return lv, fmt.Errorf("log: %q has version %d after %d", e.Stream, e.Version, len(evs))
		}
		lv.byStream[e.Stream] = append(evs, e)
	}
	return lv, nil
}

func (lv ixLogView) lastSeq() uint64 {
	if len(lv.all) == 0 {
		return 0
	}
	return ixOffsetSeq(lv.all[len(lv.all)-1].Offset)
}

// ixOffsetSeq and ixMakeOffset rely on the documented offset format
// "SSSSSSSSSSSSSSSSSSSS_IIIIII": a commit's log sequence and an index in it.
func ixOffsetSeq(o eventstore.Offset) uint64 {
	seq, _ := strconv.ParseUint(string(o)[:20], 10, 64)
	return seq
}

func ixOffsetIdx(o eventstore.Offset) uint64 {
	idx, _ := strconv.ParseUint(string(o)[21:], 10, 32)
	return idx
}

// The position before commit seq's first event is spelled as the one after
// commit seq-1's last, (seq-1, 999999), and the start of the log as (0, 0).
func ixMakeOffset(seq, idx uint64) eventstore.Offset {
	switch {
	case seq == 0 || seq == 1 && idx == 0:
		seq, idx = 0, 0
	case idx == 0:
		seq, idx = seq-1, 999999
	}
	o, err := eventstore.ParseOffset(fmt.Sprintf("%020d_%06d", seq, idx))
	if err != nil {
		panic(err)
	}
	return o
}

// ixReadQuery is one set of read bounds, applied by the store (options) and
// by the test to a list of events (apply).
type ixReadQuery struct {
	fromVersion, toVersion uint64
	from, toOffset         eventstore.Offset
	toTime                 time.Time
}

func (q ixReadQuery) options() []eventstore.ReadOption {
	var o []eventstore.ReadOption
	if q.fromVersion > 0 {
		o = append(o, eventstore.FromVersion(q.fromVersion))
	}
	if q.toVersion > 0 {
		o = append(o, eventstore.ToVersion(q.toVersion))
	}
	if q.from != "" {
		o = append(o, eventstore.From(q.from))
	}
	if q.toOffset != "" {
		o = append(o, eventstore.ToOffset(q.toOffset))
	}
	if !q.toTime.IsZero() {
		o = append(o, eventstore.ToTime(q.toTime))
	}
	return o
}

func (q ixReadQuery) String() string {
	return fmt.Sprintf("{FromVersion %d ToVersion %d From %q ToOffset %q ToTime %v}",
		q.fromVersion, q.toVersion, q.from, q.toOffset, q.toTime.Format(time.RFC3339Nano))
}

// apply is the documented meaning of the bounds: skip events at or before
// From and below FromVersion, stop at the first other event past
// ToVersion, ToOffset or ToTime.
func (q ixReadQuery) apply(evs []eventstore.Event) []eventstore.Event {
	var out []eventstore.Event
	for _, e := range evs {
		if q.from != "" && q.from != eventstore.Start && e.Offset <= q.from || e.Version < q.fromVersion {
			continue
		}
		if q.toVersion > 0 && e.Version > q.toVersion ||
			q.toOffset != "" && e.Offset > q.toOffset ||
			!q.toTime.IsZero() && e.StoredAt.After(q.toTime) {
			break
		}
		out = append(out, e)
	}
	return out
}

// ixRandomQuery picks bounds around the stream's events and the log's (an
// offset or time of another stream's event bounds this one too).
func ixRandomQuery(rng *rand.Rand, stream, all []eventstore.Event, withTime bool) ixReadQuery {
	var q ixReadQuery
	n := uint64(len(stream))
	if rng.IntN(3) == 0 {
		q.fromVersion = 1 + rng.Uint64N(n+2)
	}
	if rng.IntN(3) == 0 {
		q.toVersion = 1 + rng.Uint64N(n+2)
		if q.toVersion < q.fromVersion {
			q.fromVersion, q.toVersion = q.toVersion, q.fromVersion
		}
	}
	if rng.IntN(3) == 0 {
		q.from = ixRandomOffset(rng, stream, all, true)
	}
	if rng.IntN(3) == 0 {
		q.toOffset = ixRandomOffset(rng, stream, all, false)
	}
	if withTime && len(all) > 0 && rng.IntN(4) == 0 {
		t := all[rng.IntN(len(all))].StoredAt
		switch rng.IntN(4) {
		case 0:
			t = t.Add(-time.Nanosecond)
		case 1:
			t = t.Add(time.Nanosecond)
		case 2:
			t = all[0].StoredAt.Add(-time.Hour)
		}
		q.toTime = t
	}
	return q
}

func ixRandomOffset(rng *rand.Rand, stream, all []eventstore.Event, allowStart bool) eventstore.Offset {
	pick := func(evs []eventstore.Event) eventstore.Offset {
		if len(evs) == 0 {
			return ixMakeOffset(1, 0)
		}
		return evs[rng.IntN(len(evs))].Offset
	}
	switch rng.IntN(6) {
	case 0:
		if allowStart {
			return eventstore.Start
		}
		return ixMakeOffset(1, 0)
	case 1, 2:
		return pick(stream)
	case 3:
		return pick(all)
	case 4: // before the first event of some commit, or past its last
		o := pick(all)
		if rng.IntN(2) == 0 {
			return ixMakeOffset(ixOffsetSeq(o), 0)
		}
		return ixMakeOffset(ixOffsetSeq(o), 999999)
	default: // past the end of the log
		o := pick(all)
		return ixMakeOffset(ixOffsetSeq(o)+1+rng.Uint64N(3), ixOffsetIdx(o))
	}
}

// ixHeadOf is the Head the log says a stream has.
func ixHeadOf(evs []eventstore.Event) eventstore.Head {
	if len(evs) == 0 {
		return eventstore.Head{Offset: eventstore.Start}
	}
	last := evs[len(evs)-1]
	return eventstore.Head{Version: last.Version, Offset: last.Offset, StoredAt: last.StoredAt}
}

func ixHeadDiff(got, want eventstore.Head) string {
	if got.Version != want.Version || got.Offset != want.Offset || !got.StoredAt.Equal(want.StoredAt) {
		return fmt.Sprintf("%+v, want %+v", got, want)
	}
	return ""
}

// compareIndexWithLog reads the log, then for every stream in names and in
// the log compares Read, Head and queries bounded reads with it. Wrong data
// is reported in mismatches; a read that fails is returned as err (the
// comparison stops there).
func compareIndexWithLog(ctx context.Context, s *eventstore.Store, names []string, rng *rand.Rand, queries int) (lv ixLogView, mismatches []string, err error) {
	lv, err = ixReadLog(ctx, s)
	if err != nil {
		return lv, nil, err
	}
	set := map[string]bool{"never/written": true}
	for _, n := range names {
		set[n] = true
	}
	for n := range lv.byStream {
		set[n] = true
	}
	if mismatches, err = compareOrderedWithLog(ctx, s, lv, slices.Sorted(maps.Keys(set)), rng, queries); err != nil {
		return lv, mismatches, err
	}
	for _, name := range slices.Sorted(maps.Keys(set)) {
		want := lv.byStream[name]
		got, err := ixReadEvents(s.Read(ctx, name))
		if err != nil {
			return lv, mismatches, err
		}
		if d := ixEventsDiff(got, want); d != "" {
			mismatches = append(mismatches, fmt.Sprintf("Read(%q): %s", name, d))
		}
		h, err := s.Head(ctx, name)
		if err != nil {
			return lv, mismatches, err
		}
		if d := ixHeadDiff(h, ixHeadOf(want)); d != "" {
			mismatches = append(mismatches, fmt.Sprintf("Head(%q): %s", name, d))
		}
		for range queries {
			q := ixRandomQuery(rng, want, lv.all, true)
			got, err := ixReadEvents(s.Read(ctx, name, q.options()...))
			if err != nil {
				return lv, mismatches, fmt.Errorf("Read(%q, %v): %w", name, q, err)
			}
			if d := ixEventsDiff(got, q.apply(want)); d != "" {
				mismatches = append(mismatches, fmt.Sprintf("Read(%q, %v): %s", name, q, d))
			}
		}
	}
	return lv, mismatches, nil
}

// compareOrderedWithLog compares ReadAll and ReadCategory (served by the
// index's log-ordered copy as far as it covers the log) with the log, whole
// and with random bounds.
func compareOrderedWithLog(ctx context.Context, s *eventstore.Store, lv ixLogView, names []string, rng *rand.Rand, queries int) (mismatches []string, err error) {
	type read struct {
		what string
		run  func(...eventstore.ReadOption) iter.Seq2[eventstore.Event, error]
		want []eventstore.Event
	}
	reads := []read{{"ReadAll", func(o ...eventstore.ReadOption) iter.Seq2[eventstore.Event, error] { return s.ReadAll(ctx, o...) }, lv.all}}
	cats := map[string]bool{}
	for _, n := range names {
		cats[strings.SplitN(n, "/", 2)[0]] = true
	}
	for _, cat := range slices.Sorted(maps.Keys(cats)) {
		var want []eventstore.Event
		for _, e := range lv.all {
			if strings.SplitN(e.Stream, "/", 2)[0] == cat {
				want = append(want, e)
			}
		}
		reads = append(reads, read{fmt.Sprintf("ReadCategory(%q)", cat), func(o ...eventstore.ReadOption) iter.Seq2[eventstore.Event, error] {
			return s.ReadCategory(ctx, cat, o...)
		}, want})
	}
	for _, r := range reads {
		got, err := ixReadEvents(r.run())
		if err != nil {
			return mismatches, fmt.Errorf("%s: %w", r.what, err)
		}
		if d := ixEventsDiff(got, r.want); d != "" {
			mismatches = append(mismatches, fmt.Sprintf("%s: %s", r.what, d))
		}
		for range queries {
			q := ixRandomQuery(rng, r.want, lv.all, true)
			q.fromVersion, q.toVersion = 0, 0 // versions bound one stream
			got, err := ixReadEvents(r.run(q.options()...))
			if err != nil {
				return mismatches, fmt.Errorf("%s, %v: %w", r.what, q, err)
			}
			if d := ixEventsDiff(got, q.apply(r.want)); d != "" {
				mismatches = append(mismatches, fmt.Sprintf("%s, %v: %s", r.what, q, d))
			}
		}
	}
	return mismatches, nil
}

// checkIndexWithLog fails the test unless the index serves exactly the log.
func checkIndexWithLog(t testing.TB, ctx context.Context, s *eventstore.Store, names []string, rng *rand.Rand, queries int) ixLogView {
	t.Helper()
	lv, mismatches, err := compareIndexWithLog(ctx, s, names, rng, queries)
	for i, m := range mismatches {
		if i == 10 {
			t.Errorf("... and %d more mismatches", len(mismatches)-i)
			break
		}
		t.Error(m)
	}
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if len(mismatches) > 0 {
		t.FailNow()
	}
	return lv
}

// indexModel is what the test appended, per stream, as reads must return
// it. IDs and times the store chose are learned from the log.
type indexModel map[string][]eventstore.Event

// appendRandom makes one random append with a random expectation and
// checks the outcome against the model, which it updates.
func (m indexModel) appendRandom(t testing.TB, ctx context.Context, s *eventstore.Store, rng *rand.Rand) {
	t.Helper()
	name := indexStreams[rng.IntN(len(indexStreams))]
	cur := uint64(len(m[name]))
	events := ixRandomEvents(rng, 1+rng.IntN(5))
	var opts []eventstore.AppendOption
	conflict, expected := false, uint64(0)
	switch rng.IntN(7) {
	case 0: // no expectation
	case 1:
		opts = append(opts, eventstore.ExpectAny())
	case 2, 3:
		opts, expected = append(opts, eventstore.ExpectVersion(cur)), cur
	case 4:
		opts, conflict = append(opts, eventstore.ExpectNoStream()), cur != 0
	default:
		expected = cur + 1 + rng.Uint64N(3)
		if cur > 0 && rng.IntN(2) == 0 {
			expected = rng.Uint64N(cur)
		}
		opts, conflict = append(opts, eventstore.ExpectVersion(expected)), true
	}
	res, err := s.Append(ctx, name, events, opts...)
	if conflict {
		var ce *eventstore.ConcurrencyError
		if !errors.Is(err, eventstore.ErrConcurrency) || !errors.As(err, &ce) {
			t.Fatalf("append to %q at version %d expecting %d: %v, want a conflict", name, cur, expected, err)
		}
		if ce.Stream != name || ce.Expected != expected || ce.Actual != cur {
			t.Fatalf("conflict %+v, want stream %q expected %d actual %d", ce, name, expected, cur)
		}
		return
	}
	if err != nil {
		t.Fatalf("append to %q: %v", name, err)
	}
	if res.Stream != name || res.FirstVersion != cur+1 || res.Version != cur+uint64(len(events)) || len(res.Offsets) != len(events) {
		t.Fatalf("append of %d to %q at %d: %+v", len(events), name, cur, res)
	}
	for i, e := range events {
		e.Stream, e.Version, e.Offset = name, cur+1+uint64(i), res.Offsets[i]
		m[name] = append(m[name], e)
	}
}

// learn fills in the IDs and times the store chose (where the test gave
// none), from the log.
func (m indexModel) learn(lv ixLogView) {
	for name, evs := range m {
		for i := range min(len(evs), len(lv.byStream[name])) {
			if evs[i].ID == uuid.Nil {
				evs[i].ID = lv.byStream[name][i].ID
			}
			if evs[i].Time.IsZero() {
				evs[i].Time = lv.byStream[name][i].Time
			}
		}
	}
}

// checkLog fails unless the log holds exactly what the model says.
func (m indexModel) checkLog(t testing.TB, lv ixLogView) {
	t.Helper()
	for _, name := range indexStreams {
		if d := ixEventsDiff(lv.byStream[name], m[name]); d != "" {
			t.Fatalf("log of %q differs from what was appended: %s", name, d)
		}
	}
	if len(lv.byStream) > len(m) {
		t.Fatalf("log has %d streams, %d were appended to", len(lv.byStream), len(m))
	}
}

// TestIndexMatchesLog appends at random (random streams, batch sizes and
// expectations) and reads at random, checking each read against what was
// appended and, now and then and at the end, every stream's Read, Head and
// bounded reads against the log.
func TestIndexMatchesLog(t *testing.T) {
	ctx := context.Background()
	rng := indexRand(t)
	s, _ := openStore(t)
	m := indexModel{}
	steps := 800
	if testing.Short() {
		steps = 200
	}
	for step := range steps {
		switch r := rng.IntN(100); {
		case r < 55:
			m.appendRandom(t, ctx, s, rng)
		case r < 80: // read one stream, right after appending: read-your-writes
			name := indexStreams[rng.IntN(len(indexStreams))]
			q := ixRandomQuery(rng, m[name], nil, false)
			got, err := ixReadEvents(s.Read(ctx, name, q.options()...))
			if err != nil {
				t.Fatalf("step %d: Read(%q, %v): %v", step, name, q, err)
			}
			if d := ixEventsDiff(got, q.apply(m[name])); d != "" {
				t.Fatalf("step %d: Read(%q, %v): %s", step, name, q, d)
			}
		case r < 95:
			name := indexStreams[rng.IntN(len(indexStreams))]
			h, err := s.Head(ctx, name)
			if err != nil {
				t.Fatalf("step %d: Head(%q): %v", step, name, err)
			}
			want := ixHeadOf(m[name])
			want.StoredAt = h.StoredAt // not known to the model
			if d := ixHeadDiff(h, want); d != "" || h.Version > 0 && h.StoredAt.IsZero() {
				t.Fatalf("step %d: Head(%q): %s", step, name, d)
			}
		default:
			lv := checkIndexWithLog(t, ctx, s, indexStreams, rng, 3)
			m.checkLog(t, lv)
			m.learn(lv)
		}
	}
	lv := checkIndexWithLog(t, ctx, s, indexStreams, rng, 10)
	m.checkLog(t, lv)
	t.Logf("%d events in %d streams", len(lv.all), len(lv.byStream))
}

// TestIndexReadsSeeAcknowledgedAppends runs appenders and readers at once:
// every read returns at least what was acknowledged to anyone before it
// began, and only what the log holds.
func TestIndexReadsSeeAcknowledgedAppends(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	names := indexStreams[:6]

	var ar ackedReads
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	stop := make(chan struct{})
	for w := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range 150 {
				name := names[rng.IntN(len(names))]
				res, err := s.Append(ctx, name, ixRandomEvents(rng, 1+rng.IntN(3)))
				if err != nil {
					errs <- err
					return
				}
				ar.acknowledged(name, res.Version)
			}
		})
	}
	var readers sync.WaitGroup
	for r := range 2 {
		readers.Go(func() {
			if err := ar.readUntil(ctx, s, names, rand.New(rand.NewPCG(uint64(r), 2)), stop, nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	lv := checkIndexWithLog(t, ctx, s, names, rand.New(rand.NewPCG(1, 1)), 2)
	ar.check(t, "during appends", lv)
	t.Logf("%d reads checked, %d events", len(ar.reads), len(lv.all))
}

// ackedReads tracks, while appenders and readers run, the highest version
// acknowledged per stream and each read with what had been acknowledged
// before it began, so that the reads can be checked against the log once
// it is final.
type ackedReads struct {
	mu    sync.Mutex
	acked map[string]uint64
	reads []ackedRead
}

type ackedRead struct {
	name  string
	floor uint64 // version acknowledged before the read began
	evs   []eventstore.Event
}

// acknowledged records an append's acknowledgement.
func (a *ackedReads) acknowledged(name string, version uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.acked == nil {
		a.acked = map[string]uint64{}
	}
	a.acked[name] = max(a.acked[name], version)
}

// read reads the stream and records the result.
func (a *ackedReads) read(ctx context.Context, s *eventstore.Store, name string) error {
	a.mu.Lock()
	floor := a.acked[name]
	a.mu.Unlock()
	evs, err := ixReadEvents(s.Read(ctx, name))
	if err != nil {
		return fmt.Errorf("read %q: %w", name, err)
	}
	a.mu.Lock()
	a.reads = append(a.reads, ackedRead{name, floor, evs})
	a.mu.Unlock()
	return nil
}

// readUntil reads streams of names picked by rng, recording each read, and
// after each read calls then (when not nil), until stop is closed or
// either fails.
func (a *ackedReads) readUntil(ctx context.Context, s *eventstore.Store, names []string, rng *rand.Rand, stop <-chan struct{}, then func(name string) error) error {
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		name := names[rng.IntN(len(names))]
		if err := a.read(ctx, s, name); err != nil {
			return err
		}
		if then != nil {
			if err := then(name); err != nil {
				return err
			}
		}
	}
}

// check fails the test unless every read returned at least what was
// acknowledged before it began, and a prefix of its stream in the log.
func (a *ackedReads) check(t testing.TB, when string, lv ixLogView) {
	t.Helper()
	for _, r := range a.reads {
		log := lv.byStream[r.name]
		if uint64(len(r.evs)) < r.floor {
			t.Fatalf("Read(%q) %s returned %d events, but version %d was acknowledged before it began", r.name, when, len(r.evs), r.floor)
		}
		if d := ixEventsDiff(r.evs, log[:min(len(r.evs), len(log))]); d != "" {
			t.Fatalf("Read(%q) %s is not a prefix of the log: %s", r.name, when, d)
		}
	}
}

// ixFillRandom makes n random appends (no expectations).
func ixFillRandom(t testing.TB, ctx context.Context, s *eventstore.Store, rng *rand.Rand, n int) {
	t.Helper()
	for range n {
		name := indexStreams[rng.IntN(len(indexStreams))]
		if _, err := s.Append(ctx, name, ixRandomEvents(rng, 1+rng.IntN(5))); err != nil {
			t.Fatalf("append to %q: %v", name, err)
		}
	}
}

func ixReopen(t testing.TB, ctx context.Context, dir string, opts ...eventstore.Option) *eventstore.Store {
	t.Helper()
	s, err := eventstore.Open(ctx, dir, opts...)
	if err != nil {
		t.Fatalf("reopen %s: %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// indexGens lists the index generation directories under a store dir.
func indexGens(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "index"))
	if err != nil {
		t.Fatalf("list index generations: %v", err)
	}
	var gens []string
	for _, e := range entries {
		if e.IsDir() { // not the clean-close mark beside them
			gens = append(gens, e.Name())
		}
	}
	return gens
}

// TestIndexSurvivesReopen closes and reopens the store: the index picks up
// where it was and reads still equal the log, before and after more
// appends.
func TestIndexSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	rng := indexRand(t)
	dir := t.TempDir()
	s := ixReopen(t, ctx, dir)
	ixFillRandom(t, ctx, s, rng, 300)
	before := checkIndexWithLog(t, ctx, s, indexStreams, rng, 2)
	s.Close()

	for round := range 3 {
		s = ixReopen(t, ctx, dir)
		lv := checkIndexWithLog(t, ctx, s, indexStreams, rng, 3)
		if round == 0 && len(lv.all) != len(before.all) {
			t.Fatalf("after ixReopen the log has %d events, before %d", len(lv.all), len(before.all))
		}
		ixFillRandom(t, ctx, s, rng, 50)
		checkIndexWithLog(t, ctx, s, indexStreams, rng, 1)
		s.Close()
	}
	if gens := indexGens(t, dir); !slices.Equal(gens, []string{"gen-000001"}) {
		t.Errorf("index generations after reopening %v, want [gen-000001]", gens)
	}
}

// TestIndexRebuiltWhenDeleted deletes the whole index while the store is
// closed: the store rebuilds it from the log.
func TestIndexRebuiltWhenDeleted(t *testing.T) {
	ctx := context.Background()
	rng := indexRand(t)
	dir := t.TempDir()
	s := ixReopen(t, ctx, dir)
	ixFillRandom(t, ctx, s, rng, 300)
	before := checkIndexWithLog(t, ctx, s, indexStreams, rng, 0)
	s.Close()

	if err := os.RemoveAll(filepath.Join(dir, "index")); err != nil {
		t.Fatal(err)
	}
	s = ixReopen(t, ctx, dir)
	lv := checkIndexWithLog(t, ctx, s, indexStreams, rng, 3)
	if len(lv.all) != len(before.all) {
		t.Fatalf("the log has %d events, before %d", len(lv.all), len(before.all))
	}
	ixFillRandom(t, ctx, s, rng, 30)
	checkIndexWithLog(t, ctx, s, indexStreams, rng, 1)
	s.Close()
	s = ixReopen(t, ctx, dir)
	checkIndexWithLog(t, ctx, s, indexStreams, rng, 1)
}

// ixLogBuffer collects a store's log lines.
type ixLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *ixLogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *ixLogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *ixLogBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// ixCopyDir copies a closed store's directory tree.
func ixCopyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatalf("copy %s to %s: %v", src, dst, err)
	}
}

// ixGenFiles returns the files of every index generation whose names match
// pattern (filepath.Match).
func ixGenFiles(t testing.TB, dir, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "index", "gen-*", pattern))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func ixOverwriteAt(t testing.TB, path string, at int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

func ixFileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func ixGarbage(n int64, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// indexCorruptionSeed builds a store dir with enough data that pebble
// holds it in sstables and returns two copies, both closed: "closed",
// closed once (if the index keeps a write-ahead log, data may still be in
// it), and "reopened", reopened and closed again.
func indexCorruptionSeed(t *testing.T, ctx context.Context) (closed, reopened string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(42, 42))
	dir := t.TempDir()
	s, err := eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 25 { // 5,000 events in 200-event appends
		name := indexStreams[i%len(indexStreams)]
		if _, err := s.Append(ctx, name, ixRandomEvents(rng, 200)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 { // producer records too
		if _, err := s.Append(ctx, "x/1", evs(1, i), eventstore.WithProducer("p1", 1, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	closed = t.TempDir()
	ixCopyDir(t, dir, closed)
	s, err = eventstore.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if len(ixGenFiles(t, dir, "*.sst")) == 0 {
		t.Fatalf("no sstables in the reopened index: %v", ixGenFiles(t, dir, "*"))
	}
	for _, d := range []string{closed, dir} {
		var files []string
		for _, f := range ixGenFiles(t, d, "*") {
			files = append(files, fmt.Sprintf("%s (%d B)", filepath.Base(f), ixFileSize(t, f)))
		}
		t.Logf("seed index files: %s", strings.Join(files, ", "))
	}
	return closed, dir
}

// TestIndexCorrupted damages the files of a closed store's index in
// several ways. Whatever the damage, the store must never serve wrong
// data; the index's contract is that it rebuilds whatever it cannot
// trust, so every case must also recover: Open succeeds, and reads equal
// the log, before and after more appends and another reopen.
func TestIndexCorrupted(t *testing.T) {
	ctx := context.Background()
	// The WAL cases damage the once-closed copy, where a write-ahead log
	// would still hold data; the others the reopened one.
	walSeed, sstSeed := indexCorruptionSeed(t, ctx)
	type damage func(t *testing.T, dir string) int // returns the number of files damaged
	each := func(pattern string, fn func(t *testing.T, path string)) damage {
		return func(t *testing.T, dir string) int {
			files := ixGenFiles(t, dir, pattern)
			for _, f := range files {
				fn(t, f)
			}
			return len(files)
		}
	}
	overwriteMiddle := func(n int) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			ixOverwriteAt(t, path, ixFileSize(t, path)/2, ixGarbage(int64(n), 1))
		}
	}
	flipMiddle := func(t *testing.T, path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ixOverwriteAt(t, path, int64(len(b)/2), []byte{^b[len(b)/2]})
	}
	overwriteSpread := func(t *testing.T, path string) {
		size := ixFileSize(t, path)
		for i := int64(1); i < 16; i++ {
			ixOverwriteAt(t, path, size*i/16, ixGarbage(8, uint64(i)))
		}
	}
	truncate := func(frac int64) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			if err := os.Truncate(path, ixFileSize(t, path)*frac/2); err != nil {
				t.Fatal(err)
			}
		}
	}
	replace := func(t *testing.T, path string) {
		if err := os.WriteFile(path, ixGarbage(max(ixFileSize(t, path), 100), 9), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	remove := func(t *testing.T, path string) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name   string
		seed   string
		damage damage
	}{
		{"sst/overwrite-middle", sstSeed, each("*.sst", overwriteMiddle(256))},
		{"sst/overwrite-spread", sstSeed, each("*.sst", overwriteSpread)},
		{"sst/flip-1-byte", sstSeed, each("*.sst", flipMiddle)},
		{"sst/truncate-half", sstSeed, each("*.sst", truncate(1))},
		{"sst/truncate-zero", sstSeed, each("*.sst", truncate(0))},
		{"sst/garbage", sstSeed, each("*.sst", replace)},
		{"sst/delete", sstSeed, each("*.sst", remove)},
		{"manifest/truncate-half", sstSeed, each("MANIFEST-*", truncate(1))},
		{"manifest/truncate-zero", sstSeed, each("MANIFEST-*", truncate(0))},
		{"manifest/garbage", sstSeed, each("MANIFEST-*", replace)},
		{"manifest/delete", sstSeed, each("MANIFEST-*", remove)},
		// Pebble v2 keeps no CURRENT file: marker.manifest.* names the
		// current MANIFEST. Deleting it is the same damage.
		{"current-marker/delete", sstSeed, func(t *testing.T, dir string) int {
			return each("CURRENT", remove)(t, dir) + each("marker.manifest.*", remove)(t, dir)
		}},
		{"current-marker/delete-wal-only", walSeed, func(t *testing.T, dir string) int {
			return each("CURRENT", remove)(t, dir) + each("marker.manifest.*", remove)(t, dir)
		}},
		{"format-marker/delete", sstSeed, each("marker.format-version.*", remove)},
		{"options/garbage", sstSeed, each("OPTIONS-*", replace)},
		{"options/truncate-half", sstSeed, each("OPTIONS-*", truncate(1))},
		{"wal/overwrite-middle", walSeed, each("*.log", overwriteMiddle(256))},
		{"wal/overwrite-spread", walSeed, each("*.log", overwriteSpread)},
		{"wal/truncate-half", walSeed, each("*.log", truncate(1))},
		{"wal/garbage", walSeed, each("*.log", replace)},
		{"wal/delete", walSeed, each("*.log", remove)},
		{"wal/garbage-after-flush", sstSeed, each("*.log", replace)},
		{"gen-dir/replaced-by-file", sstSeed, func(t *testing.T, dir string) int {
			gens := ixGenFiles(t, dir, "")
			for _, g := range gens {
				if err := os.RemoveAll(g); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(g, []byte("garbage"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			return len(gens)
		}},
		{"gen-dir/emptied", sstSeed, each("*", remove)},
	}
	var summary []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ixCopyDir(t, tc.seed, dir)
			if n := tc.damage(t, dir); n == 0 {
				summary = append(summary, fmt.Sprintf("%-32s (no such files)", tc.name))
				t.Skipf("nothing to damage: %v", ixGenFiles(t, dir, "*"))
			}
			outcome, err := ixRunDamaged(t, dir)
			summary = append(summary, fmt.Sprintf("%-32s %s", tc.name, outcome))
			if err != nil {
				t.Errorf("%s: %v", outcome, err)
			}
		})
	}
	t.Logf("outcomes:\n%s", strings.Join(summary, "\n"))
}

// indexAfterDamage opens a damaged store and reports how it came back. It
// returns an error on wrong data (always a failure) and when the store did
// not recover (it promises to rebuild what it cannot trust).
func indexAfterDamage(ctx context.Context, dir string) (outcome string, err error) {
	var logs ixLogBuffer
	s, err := eventstore.Open(ctx, dir, eventstore.WithLogger(logs.logger()))
	if err != nil {
		return "open error", fmt.Errorf("Open after damage: %w (the store should rebuild its index)", err)
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(3, 3))
	rebuiltAtOpen := strings.Contains(logs.String(), "rebuilding the read index")
	check := func(queries int) (string, error) {
		_, mismatches, err := ixComparePanicking(ctx, s, rng, queries)
		if len(mismatches) > 0 {
			return "WRONG DATA", fmt.Errorf("wrong data:\n%s", strings.Join(mismatches, "\n"))
		}
		if err != nil {
			outcome := "read error"
			if strings.Contains(err.Error(), "PANIC") {
				outcome = "read panicked"
			}
			return outcome, fmt.Errorf("read after damage: %w (the store should rebuild its index)\nstore log:\n%s", err, logs.String())
		}
		return "", nil
	}
	// Head first, as an append does to check its expectation: it reads
	// the stream's last commit, so it meets damage before any Read.
	var headErr error
	for _, name := range indexStreams {
		err := ixNoPanic(func() error { _, err := s.Head(ctx, name); return err })
		if err != nil {
			headErr = fmt.Errorf("Head(%q) after damage: %w (the store should rebuild its index)", name, err)
			break
		}
	}
	if outcome, err := check(2); err != nil {
		if headErr != nil {
			outcome = "Head and " + outcome
		}
		return outcome, errors.Join(headErr, err)
	}
	outcome = "recovered, no rebuild logged"
	switch {
	case rebuiltAtOpen:
		outcome = "recovered, rebuilt at open"
	case strings.Contains(logs.String(), "rebuilding"):
		outcome = "recovered, rebuilt on a read error"
	}
	if headErr != nil {
		return "Head error; Read then " + outcome, headErr
	}
	// The rebuilt index goes on working, and survives a reopen.
	for range 20 {
		name := indexStreams[rng.IntN(len(indexStreams))]
		if _, err := s.Append(ctx, name, ixRandomEvents(rng, 1+rng.IntN(5))); err != nil {
			return "append error", fmt.Errorf("append to %q after recovery: %w", name, err)
		}
	}
	if o, err := check(0); err != nil {
		return o + " after appends", err
	}
	s.Close()
	s, err = eventstore.Open(ctx, dir, eventstore.WithLogger(logs.logger()))
	if err != nil {
		return "reopen error", fmt.Errorf("reopen after recovery: %w", err)
	}
	defer s.Close()
	if o, err := check(0); err != nil {
		return o + " after reopen", err
	}
	return outcome, nil
}

// ixComparePanicking is compareIndexWithLog turning a panic of the caller's
// goroutine into an error.
func ixComparePanicking(ctx context.Context, s *eventstore.Store, rng *rand.Rand, queries int) (lv ixLogView, mismatches []string, err error) {
	err = ixNoPanic(func() error {
		var err error
		lv, mismatches, err = compareIndexWithLog(ctx, s, indexStreams, rng, queries)
		return err
	})
	return lv, mismatches, err
}

// ixNoPanic runs fn, turning a panic into an error.
func ixNoPanic(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("PANIC: %v", r)
		}
	}()
	return fn()
}

func init() { children["index-damaged"] = indexDamagedChild }

// indexDamagedChild runs indexAfterDamage on $REWIND_INDEX_TEST_DIR in a
// process of its own, so that a crash (pebble can abort on corruption)
// fails one case instead of the whole test binary.
func indexDamagedChild() int {
	dir := os.Getenv("REWIND_INDEX_TEST_DIR")
	seen := indexCheckpointOnDisk(dir) // what pebble alone makes of the damage
	outcome, err := indexAfterDamage(context.Background(), dir)
	fmt.Printf("outcome: %s [before open, pebble read-only saw: %s]\n", outcome, seen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// ixChild returns a command that runs the named child (see main_test.go)
// with extra environment variables.
func ixChild(ctx context.Context, name string, env ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"="+name), env...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// ixStartChild starts cmd and returns its standard output, to be read
// line by line, and what it writes to standard error, for failure reports.
func ixStartChild(t *testing.T, cmd *exec.Cmd) (io.ReadCloser, *strings.Builder) {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return stdout, &stderr
}

// ixRunDamaged runs indexDamagedChild on dir and returns its outcome line
// and, if it failed or crashed, why.
func ixRunDamaged(t *testing.T, dir string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := ixChild(ctx, "index-damaged", "REWIND_INDEX_TEST_DIR="+dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	outcome, _ := strings.CutPrefix(strings.TrimSpace(stdout.String()), "outcome: ")
	if err == nil {
		return outcome, nil
	}
	msg := stderr.String()
	if i := strings.Index(msg, "panic:"); i >= 0 {
		if outcome == "" {
			outcome = "CRASHED (panic)"
		}
		// The panic's first line and the panicking goroutine's stack.
		first, _, _ := strings.Cut(msg[i:], "\n")
		msg = first
		if j := strings.Index(stderr.String(), "\ngoroutine "); j >= 0 {
			msg += stderr.String()[j:]
		}
	}
	if len(msg) > 6000 {
		msg = msg[:6000] + "\n..."
	}
	if outcome == "" {
		outcome = "CRASHED: " + err.Error()
	}
	return outcome, fmt.Errorf("%v:\n%s", err, msg)
}

// TestIndexFromAnotherState puts a valid index of another log, or of the
// same log at another time, beside a log: the store must notice and serve
// the log, never the index's idea of it.
func TestIndexFromAnotherState(t *testing.T) {
	ctx := context.Background()
	rng := indexRand(t)
	build := func(appends int) string {
		dir := t.TempDir()
		s := ixReopen(t, ctx, dir)
		ixFillRandom(t, ctx, s, rng, appends)
		s.Close()
		return dir
	}
	swapIndex := func(t *testing.T, from, to string) {
		if err := os.RemoveAll(filepath.Join(to, "index")); err != nil {
			t.Fatal(err)
		}
		ixCopyDir(t, filepath.Join(from, "index"), filepath.Join(to, "index"))
	}
	other := build(200)

	// A backup of the store taken earlier: its log is behind the current
	// one (and its index too).
	current := build(100)
	backup := t.TempDir()
	ixCopyDir(t, current, backup)
	s := ixReopen(t, ctx, current)
	ixFillRandom(t, ctx, s, rng, 100)
	s.Close()

	dropIdentity := func(db *pebble.DB) error {
		// An index that lost its own metadata (format, log identity,
		// checkpoint) but kept its records.
		for _, k := range []string{"m.format", "m.log", "m.checkpoint"} {
			if err := db.Delete([]byte(k), pebble.Sync); err != nil {
				return err
			}
		}
		return nil
	}
	cases := []struct {
		name, index, log string
		tamper           func(db *pebble.DB) error
	}{
		{"index of another log", other, current, nil},
		{"index ahead of the log (log restored from a backup)", current, backup, nil},
		{"index behind the log (index restored from a backup)", backup, current, nil},
		{"index of another log without its metadata", other, current, dropIdentity},
		{"index ahead of the log without its metadata", current, backup, dropIdentity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ixCopyDir(t, tc.log, dir)
			swapIndex(t, tc.index, dir)
			if tc.tamper != nil {
				ixTamper(t, dir, tc.tamper)
			}
			s := ixReopen(t, ctx, dir)
			checkIndexWithLog(t, ctx, s, indexStreams, rng, 2)
			ixFillRandom(t, ctx, s, rng, 10)
			checkIndexWithLog(t, ctx, s, indexStreams, rng, 1)
		})
	}
}

// TestIndexReindex rebuilds the index on purpose while readers and an
// appender run: progress is reported up to the log's end, no reader ever
// sees wrong data, reads equal the log before and after, and the old
// generation is deleted as soon as the last read holding it ends.
func TestIndexReindex(t *testing.T) {
	ctx := context.Background()
	rng := indexRand(t)
	s, dir := openStore(t)
	ixFillRandom(t, ctx, s, rng, 600)
	if _, err := s.Append(ctx, "held/1", evs(50, 0)); err != nil {
		t.Fatal(err)
	}
	before := checkIndexWithLog(t, ctx, s, indexStreams, rng, 2)

	// A read that holds the current index across the whole Reindex.
	next, stopHeld := iter.Pull2(s.Read(ctx, "held/1"))
	defer stopHeld()
	var held []eventstore.Event
	if e, err, ok := next(); !ok || err != nil {
		t.Fatalf("first event of the held read: %v %v", ok, err)
	} else {
		held = append(held, e)
	}

	// Readers and an appender running during the Reindex. Each read is
	// checked afterwards against the final log: it must be a prefix of its
	// stream, at least as long as what was acknowledged before it began.
	var ar ackedReads
	stop := make(chan struct{})
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	wg.Go(func() {
		rng := rand.New(rand.NewPCG(7, 7))
		for {
			select {
			case <-stop:
				return
			default:
			}
			name := indexStreams[rng.IntN(len(indexStreams))]
			res, err := s.Append(ctx, name, ixRandomEvents(rng, 1+rng.IntN(5)))
			if err != nil {
				errs <- err
				return
			}
			ar.acknowledged(name, res.Version)
			time.Sleep(time.Millisecond)
		}
	})
	for r := range 2 {
		wg.Go(func() {
			err := ar.readUntil(ctx, s, indexStreams, rand.New(rand.NewPCG(uint64(r), 8)), stop, func(name string) error {
				if _, err := s.Head(ctx, name); err != nil {
					return fmt.Errorf("head of %q: %w", name, err)
				}
				return nil
			})
			if err != nil {
				errs <- fmt.Errorf("during Reindex: %w", err)
			}
		})
	}

	lastBefore := before.lastSeq()
	type call struct{ applied, total uint64 }
	var calls []call
	err := s.Reindex(ctx, func(applied, total uint64) { calls = append(calls, call{applied, total}) })
	close(stop)
	wg.Wait()
	close(errs)
	if err != nil {
		t.Fatalf("Reindex: %v", err)
	}
	for err := range errs {
		t.Fatal(err)
	}

	// Progress: at least one call, one total (the log's end when Reindex
	// began), applied never going back, ending at the total.
	if len(calls) == 0 {
		t.Fatal("progress never called")
	}
	total := calls[0].total
	if total < lastBefore {
		t.Fatalf("progress total %d, but the log held %d messages before Reindex", total, lastBefore)
	}
	for i, c := range calls {
		if c.total != total || c.applied > c.total || i > 0 && c.applied < calls[i-1].applied {
			t.Fatalf("progress call %d: %+v after %+v (total %d)", i, c, calls[max(i-1, 0)], total)
		}
	}
	if last := calls[len(calls)-1]; last.applied != total {
		t.Fatalf("last progress call %+v, want applied == total", last)
	}
	t.Logf("%d progress calls up to %d; %d reads during Reindex", len(calls), total, len(ar.reads))

	// The held read still works on the old generation, which stays on disk
	// until the read ends.
	if gens := indexGens(t, dir); !slices.Equal(gens, []string{"gen-000001", "gen-000002"}) {
		t.Fatalf("generations while a read holds the old one: %v, want [gen-000001 gen-000002]", gens)
	}
	for e, err := range func(yield func(eventstore.Event, error) bool) {
		for {
			e, err, ok := next()
			if !ok || !yield(e, err) {
				return
			}
		}
	} {
		if err != nil {
			t.Fatalf("held read after Reindex: %v", err)
		}
		held = append(held, e)
	}
	if d := ixEventsDiff(held, before.byStream["held/1"]); d != "" {
		t.Fatalf("held read across Reindex: %s", d)
	}
	if gens := indexGens(t, dir); !slices.Equal(gens, []string{"gen-000002"}) {
		t.Fatalf("generations after the last read of the old one ended: %v, want [gen-000002]", gens)
	}

	ar.check(t, "during Reindex", checkIndexWithLog(t, ctx, s, indexStreams, rng, 3))

	// With no read holding it, the old generation goes at once; the store
	// reopens on the newest one.
	if err := s.Reindex(ctx, nil); err != nil {
		t.Fatalf("second Reindex: %v", err)
	}
	if gens := indexGens(t, dir); !slices.Equal(gens, []string{"gen-000003"}) {
		t.Fatalf("generations after an idle Reindex: %v, want [gen-000003]", gens)
	}
	ixFillRandom(t, ctx, s, rng, 20)
	checkIndexWithLog(t, ctx, s, indexStreams, rng, 1)
	s.Close()
	if err := s.Reindex(ctx, nil); !errors.Is(err, eventstore.ErrClosed) {
		t.Fatalf("Reindex of a closed store: %v, want ErrClosed", err)
	}
	s = ixReopen(t, ctx, dir)
	checkIndexWithLog(t, ctx, s, indexStreams, rng, 1)
	if gens := indexGens(t, dir); !slices.Equal(gens, []string{"gen-000003"}) {
		t.Fatalf("generations after reopening: %v, want [gen-000003]", gens)
	}
}

// TestIndexReindexCancelled cancels a Reindex midway: it returns the
// context's error, leaves no half-built generation behind and the store
// goes on reading from the old index.
func TestIndexReindexCancelled(t *testing.T) {
	ctx := context.Background()
	rng := indexRand(t)
	s, dir := openStore(t)
	ixFillRandom(t, ctx, s, rng, 400)
	rctx, cancel := context.WithCancel(ctx)
	err := s.Reindex(rctx, func(applied, total uint64) { cancel() })
	cancel()
	switch {
	case err == nil: // the new generation caught up before the first wait
		t.Log("Reindex finished before it saw the cancellation")
	case !errors.Is(err, context.Canceled):
		t.Fatalf("cancelled Reindex: %v, want context.Canceled", err)
	default:
		if gens := indexGens(t, dir); !slices.Equal(gens, []string{"gen-000001"}) {
			t.Fatalf("generations after a cancelled Reindex: %v, want [gen-000001]", gens)
		}
	}
	checkIndexWithLog(t, ctx, s, indexStreams, rng, 2)
	ixFillRandom(t, ctx, s, rng, 20)
	checkIndexWithLog(t, ctx, s, indexStreams, rng, 1)
}

// ixTamper opens the newest index generation of a closed store with pebble
// itself and lets fn change it. The keys it touches are the index's
// private layout (index.go): a test of what the store does with an index
// of another format or with a damaged record, which the API cannot reach.
func ixTamper(t *testing.T, dir string, fn func(db *pebble.DB) error) {
	t.Helper()
	gens, _ := filepath.Glob(filepath.Join(dir, "index", "gen-*"))
	if len(gens) == 0 {
		t.Fatal("no index generation")
	}
	db, err := pebble.Open(gens[len(gens)-1], &pebble.Options{Logger: quietPebble{}})
	if err != nil {
		t.Fatalf("pebble: %v", err)
	}
	if err := fn(db); err != nil {
		db.Close()
		t.Fatalf("tamper: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// ixLastCommitKey returns the key of a stream's last commit record.
func ixLastCommitKey(db *pebble.DB, stream string) ([]byte, error) {
	prefix := append([]byte{'c'}, append([]byte(stream), 0)...)
	upper := append([]byte{'c'}, append([]byte(stream), 1)...)
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.Last() {
		return nil, fmt.Errorf("no commit of %q in the index", stream)
	}
	return slices.Clone(it.Key()), nil
}

// TestIndexTampered changes the index's own records while the store is
// closed: an index of an older or newer format, of another log, with an
// unreadable or wrong checkpoint, or with an undecodable commit record.
// The store must rebuild (or catch up) and serve the log, never the
// tampered records, to appends and Head as to Read.
func TestIndexTampered(t *testing.T) {
	ctx := context.Background()
	rng := indexRand(t)
	seed := t.TempDir()
	s := ixReopen(t, ctx, seed)
	ixFillRandom(t, ctx, s, rng, 300)
	lv := checkIndexWithLog(t, ctx, s, indexStreams, rng, 0)
	s.Close()
	last := lv.lastSeq()
	set := func(key string, value []byte) func(db *pebble.DB) error {
		return func(db *pebble.DB) error { return db.Set([]byte(key), value, pebble.Sync) }
	}
	checkpoint := func(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }
	garbleLast := func(stream string, value []byte) func(db *pebble.DB) error {
		return func(db *pebble.DB) error {
			k, err := ixLastCommitKey(db, stream)
			if err != nil {
				return err
			}
			return db.Set(k, value, pebble.Sync)
		}
	}
	cases := []struct {
		name   string
		tamper func(db *pebble.DB) error
	}{
		{"older format", set("m.format", []byte("rewind-index-0"))},
		{"older format 2", set("m.format", []byte("rewind-index-2"))},
		{"older format 3 (snappy)", set("m.format", []byte("rewind-index-3"))},
		{"older format 5 (an event-id key each)", set("m.format", []byte("rewind-index-5"))},
		{"newer format", set("m.format", []byte("rewind-index-7"))},
		{"another log", set("m.log", []byte("another-log"))},
		{"checkpoint unreadable", set("m.checkpoint", []byte{1, 2, 3})},
		{"checkpoint ahead of the log", set("m.checkpoint", checkpoint(last+10))},
		{"checkpoint behind", set("m.checkpoint", checkpoint(last/2))},
		{"checkpoint at zero", set("m.checkpoint", checkpoint(0))},
		{"last commit of a stream short", garbleLast(lv.all[0].Stream, []byte{1, 2, 3})},
		{"last commit of a stream not a commit", garbleLast(lv.all[0].Stream, append(checkpoint(1), checkpoint(2)...))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ixCopyDir(t, seed, dir)
			ixTamper(t, dir, tc.tamper)
			var logs ixLogBuffer
			s, err := eventstore.Open(ctx, dir, eventstore.WithLogger(logs.logger()))
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer s.Close()
			// First what a restarted application does: append (the store
			// reads the stream's head from the index to place the commit),
			// and ask for heads; then read everything.
			for _, name := range indexStreams {
				if _, err := s.Append(ctx, name, []eventstore.Event{ev("Restarted", "")}); err != nil {
					t.Errorf("Append(%q): %v (the store should rebuild its index)", name, err)
					break
				}
			}
			for _, name := range indexStreams {
				if _, err := s.Head(ctx, name); err != nil {
					t.Errorf("Head(%q): %v (the store should rebuild its index)", name, err)
					break
				}
			}
			checkIndexWithLog(t, ctx, s, indexStreams, rng, 2)
			ixFillRandom(t, ctx, s, rng, 10)
			checkIndexWithLog(t, ctx, s, indexStreams, rng, 1)
			t.Logf("store log:\n%s", logs.String())
		})
	}
}
