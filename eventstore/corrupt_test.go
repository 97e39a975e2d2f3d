package eventstore_test

import (
	"context"
	"encoding/binary"
	"iter"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rewindhq/rewind/eventstore"
)

// The tests in this file publish messages that are not commits of their
// stream onto a stream's subject, with a NATS client of their own, as
// anything with access to the log can, and check that every read path
// skips them with a warning and that the stream's events, its Head and
// appends to it are unaffected.

// logRecorder records a store's log lines with their attributes.
type logRecorder struct {
	mu    sync.Mutex
	lines []logLine
}

type logLine struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

type recHandler struct {
	r     *logRecorder
	attrs []slog.Attr
}

func (h recHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h recHandler) Handle(_ context.Context, rec slog.Record) error {
	l := logLine{level: rec.Level, msg: rec.Message, attrs: make(map[string]string)}
	for _, a := range h.attrs {
		l.attrs[a.Key] = a.Value.Resolve().String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		l.attrs[a.Key] = a.Value.Resolve().String()
		return true
	})
	h.r.mu.Lock()
	h.r.lines = append(h.r.lines, l)
	h.r.mu.Unlock()
	return nil
}

func (h recHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return recHandler{r: h.r, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h recHandler) WithGroup(string) slog.Handler { return h }

func (r *logRecorder) logger() *slog.Logger { return slog.New(recHandler{r: r}) }

// warnings counts the warnings (or worse) that name log sequence seq.
func (r *logRecorder) warnings(seq uint64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.lines {
		if l.level >= slog.LevelWarn && l.attrs["seq"] == strconv.FormatUint(seq, 10) {
			n++
		}
	}
	return n
}

// errorLines returns the error-level lines.
func (r *logRecorder) errorLines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if l.level >= slog.LevelError {
			out = append(out, l.msg+" "+mapString(l.attrs))
		}
	}
	return out
}

func mapString(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// offsetSeq returns the log sequence of the commit an offset is in.
func offsetSeq(t testing.TB, o eventstore.Offset) uint64 {
	t.Helper()
	if len(o) < 20 {
		t.Fatalf("offset %q", o)
	}
	seq, err := strconv.ParseUint(string(o[:20]), 10, 64)
	if err != nil {
		t.Fatalf("offset %q: %v", o, err)
	}
	return seq
}

// commitFields locates the first version and event count varints of a
// commit body (format 1 or 2, producer mark or not): body[fv[0]:fv[1]]
// and body[cnt[0]:cnt[1]].
func commitFields(t testing.TB, body []byte) (fv, cnt [2]int) {
	t.Helper()
	if len(body) < 2 || body[0] != 'R' {
		t.Fatalf("not a commit: %q", body)
	}
	i := 2
	if body[1] == 2 {
		i += 8
	}
	uv := func() {
		_, n := binary.Uvarint(body[i:])
		if n <= 0 {
			t.Fatalf("bad varint at %d in %x", i, body)
		}
		i += n
	}
	fv[0] = i
	uv()
	fv[1] = i
	flags := body[i]
	i++
	if flags&1 != 0 {
		l, n := binary.Uvarint(body[i:])
		i += n + int(l)
		uv()
		uv()
		uv()
	}
	cnt[0] = i
	uv()
	cnt[1] = i
	return fv, cnt
}

// rewrite returns a copy of a commit body with another first version and
// event count (the events themselves unchanged).
func rewrite(t testing.TB, body []byte, firstVersion, count uint64) []byte {
	t.Helper()
	fv, cnt := commitFields(t, body)
	out := slices.Clone(body[:fv[0]])
	out = binary.AppendUvarint(out, firstVersion)
	out = append(out, body[fv[1]:cnt[0]]...)
	out = binary.AppendUvarint(out, count)
	return append(out, body[cnt[1]:]...)
}

// setFlags returns body with its flags byte ORed with flags.
func setFlags(t testing.TB, body []byte, flags byte) []byte {
	t.Helper()
	fv, _ := commitFields(t, body)
	out := slices.Clone(body)
	out[fv[1]] |= flags
	return out
}

// badKit is what a bad message is made from: the bodies of two real
// commits of the stream, a (one event, version 1) and b (three events,
// versions 2-4), and the version the stream's next commit would start at.
type badKit struct {
	a, b []byte
	next uint64
}

// badMessages are messages that are not the next commit of their stream.
var badMessages = []struct {
	name string
	make func(t testing.TB, k badKit) []byte
}{
	{"garbage", func(testing.TB, badKit) []byte { return []byte("this is not a Rewind commit at all") }},
	{"empty", func(testing.TB, badKit) []byte { return []byte{} }},
	{"magic and format only", func(_ testing.TB, k badKit) []byte { return slices.Clone(k.b[:2]) }},
	{"unknown format", func(_ testing.TB, k badKit) []byte {
		b := slices.Clone(k.b)
		b[1] = 9
		return b
	}},
	{"truncated copy", func(_ testing.TB, k badKit) []byte { return slices.Clone(k.b[:len(k.b)-1]) }},
	{"truncated to its header", func(t testing.TB, k badKit) []byte {
		_, cnt := commitFields(t, k.b)
		return slices.Clone(k.b[:cnt[1]])
	}},
	{"truncated copy as the next version", func(t testing.TB, k badKit) []byte {
		b := rewrite(t, k.b, k.next, 3)
		return b[:len(b)-1]
	}},
	{"over-counted copy", func(t testing.TB, k badKit) []byte { return rewrite(t, k.a, 1, 2) }},
	{"over-counted as the next version", func(t testing.TB, k badKit) []byte { return rewrite(t, k.b, k.next, 4) }},
	{"under-counted as the next version", func(t testing.TB, k badKit) []byte { return rewrite(t, k.b, k.next, 2) }},
	{"trailing bytes as the next version", func(t testing.TB, k badKit) []byte {
		return append(rewrite(t, k.b, k.next, 3), 0)
	}},
	{"zero events as the next version", func(t testing.TB, k badKit) []byte {
		_, cnt := commitFields(t, k.b)
		return rewrite(t, k.b[:cnt[1]], k.next, 0)
	}},
	{"tombstone with events", func(t testing.TB, k badKit) []byte { return setFlags(t, rewrite(t, k.b, 1, 3), 8) }},
	{"tombstone with a producer mark", func(t testing.TB, k badKit) []byte {
		fv, _ := commitFields(t, k.b)
		b := binary.AppendUvarint(slices.Clone(k.b[:fv[0]]), 1)
		b = append(b, 8|1, 1, 'p', 0, 0, 0)
		return binary.AppendUvarint(b, 0)
	}},
	{"tombstone that closes", func(t testing.TB, k badKit) []byte {
		_, cnt := commitFields(t, k.b)
		return setFlags(t, rewrite(t, k.b[:cnt[1]], 1, 0), 8|4)
	}},
	{"unknown flag bits as the next version", func(t testing.TB, k badKit) []byte {
		return setFlags(t, rewrite(t, k.b, k.next, 3), 0x10)
	}},
	{"duplicate of the last commit", func(_ testing.TB, k badKit) []byte { return slices.Clone(k.b) }},
	{"duplicate of an earlier commit", func(_ testing.TB, k badKit) []byte { return slices.Clone(k.a) }},
	{"valid commit after a version gap", func(t testing.TB, k badKit) []byte { return rewrite(t, k.b, k.next+100, 3) }},
}

// corruptEnv is a store, a NATS client beside it, and every good event
// appended, in log order.
type corruptEnv struct {
	t      *testing.T
	ctx    context.Context
	dir    string
	log    *logRecorder
	store  *eventstore.Store
	nc     *nats.Conn
	js     jetstream.JetStream
	want   []eventstore.Event // every good event, in log order
	bad    []uint64           // log sequences of the bad messages
	from   eventstore.Offset  // the offset of the last good event before the first bad message
	mu     sync.Mutex         // guards want (live appends run beside subscriptions)
	closed bool
}

func newCorruptEnv(t *testing.T) *corruptEnv {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	e := &corruptEnv{t: t, ctx: ctx, dir: t.TempDir(), log: &logRecorder{}}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *corruptEnv) open() {
	e.t.Helper()
	s, err := eventstore.Open(e.ctx, e.dir, eventstore.WithListen("127.0.0.1", 0), eventstore.WithLogger(e.log.logger()))
	if err != nil {
		e.t.Fatalf("open: %v", err)
	}
	e.store, e.closed = s, false
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		e.t.Fatalf("nats connect: %v", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		e.t.Fatalf("jetstream: %v", err)
	}
	e.nc, e.js = nc, js
}

func (e *corruptEnv) close() {
	if e.closed {
		return
	}
	e.closed = true
	e.nc.Close()
	if err := e.store.Close(); err != nil {
		e.t.Errorf("close: %v", err)
	}
}

func (e *corruptEnv) reopen() {
	e.t.Helper()
	e.close()
	e.open()
}

// append appends and records the events appended.
func (e *corruptEnv) append(stream string, events []eventstore.Event, opts ...eventstore.AppendOption) eventstore.AppendResult {
	e.t.Helper()
	res, err := e.store.Append(e.ctx, stream, events, opts...)
	if err != nil {
		e.t.Fatalf("append to %s: %v", stream, err)
	}
	e.record(res, events)
	return res
}

func (e *corruptEnv) record(res eventstore.AppendResult, events []eventstore.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, o := range res.Offsets {
		e.want = append(e.want, eventstore.Event{Stream: res.Stream, Version: res.FirstVersion + uint64(i),
			Offset: o, Data: events[i].Data})
	}
}

// wanted returns the good events keep selects.
func (e *corruptEnv) wanted(keep func(eventstore.Event) bool) []eventstore.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []eventstore.Event
	for _, ev := range e.want {
		if keep(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// version is a stream's last good version.
func (e *corruptEnv) version(stream string) uint64 {
	evs := e.wanted(inStream(stream))
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Version
}

// publish puts body on a stream's subject, as a foreign client would.
func (e *corruptEnv) publish(stream string, body []byte) uint64 {
	e.t.Helper()
	if e.from == "" {
		all := e.wanted(everything)
		e.from = all[len(all)-1].Offset
	}
	subj := "rewind.s." + strings.ReplaceAll(stream, "/", ".")
	ack, err := e.js.Publish(e.ctx, subj, body)
	if err != nil {
		e.t.Fatalf("publish on %s: %v", subj, err)
	}
	e.mu.Lock()
	e.bad = append(e.bad, ack.Sequence)
	e.mu.Unlock()
	return ack.Sequence
}

// body returns the body of the log message at seq.
func (e *corruptEnv) body(seq uint64) []byte {
	e.t.Helper()
	st, err := e.js.Stream(e.ctx, "rewind")
	if err != nil {
		e.t.Fatalf("stream: %v", err)
	}
	m, err := st.GetMsg(e.ctx, seq)
	if err != nil {
		e.t.Fatalf("get message %d: %v", seq, err)
	}
	return m.Data
}

// readAndWarn reads seq to the end and checks that the read warned about
// every bad message after from.
func (e *corruptEnv) readAndWarn(what string, from eventstore.Offset, seq iter.Seq2[eventstore.Event, error]) []eventstore.Event {
	e.t.Helper()
	e.mu.Lock()
	bad := slices.Clone(e.bad)
	e.mu.Unlock()
	before := make([]int, len(bad))
	for i, s := range bad {
		before[i] = e.log.warnings(s)
	}
	got := collect(e.t, seq)
	for i, s := range bad {
		if from != eventstore.Start && s <= offsetSeq(e.t, from) {
			continue
		}
		if e.log.warnings(s) <= before[i] {
			e.t.Errorf("%s: no warning naming seq=%d, the message it skipped", what, s)
		}
	}
	return got
}

// checkReads checks every bounded read path against the good events.
func (e *corruptEnv) checkReads(phase string) {
	e.t.Helper()
	t, ctx, s := e.t, e.ctx, e.store
	for _, stream := range []string{"acct/1", "acct/2", "other/1"} {
		want := e.wanted(inStream(stream))
		sameEvents(t, phase+": Read "+stream, collect(t, s.Read(ctx, stream)), want)
		sameEvents(t, phase+": Read "+stream+" From", collect(t, s.Read(ctx, stream, eventstore.From(e.from))),
			keepAfter(e.from, everything)(want))
		sameEvents(t, phase+": Read "+stream+" FromVersion(2)", collect(t, s.Read(ctx, stream, eventstore.FromVersion(2))),
			want[1:])
		h, err := s.Head(ctx, stream)
		if err != nil {
			t.Fatalf("%s: head of %s: %v", phase, stream, err)
		}
		last := want[len(want)-1]
		if h.Version != last.Version || h.Offset != last.Offset {
			t.Errorf("%s: head of %s is version %d at %s, want %d at %s", phase, stream, h.Version, h.Offset, last.Version, last.Offset)
		}
	}
	// ReadCategory and ReadAll are served by the index's log-ordered copy,
	// which never held the bad messages (the index warned when it skipped
	// them, checked below); a read of the log itself warns each time.
	sameEvents(t, phase+": ReadCategory", collect(t, s.ReadCategory(ctx, "acct")), e.wanted(inCategory("acct")))
	sameEvents(t, phase+": ReadCategory From", collect(t, s.ReadCategory(ctx, "acct", eventstore.From(e.from))),
		keepAfter(e.from, inCategory("acct"))(e.wanted(everything)))
	sameEvents(t, phase+": ReadAll", collect(t, s.ReadAll(ctx)), e.wanted(everything))
	sameEvents(t, phase+": ReadAll From", collect(t, s.ReadAll(ctx, eventstore.From(e.from))),
		keepAfter(e.from, everything)(e.wanted(everything)))
	sameEvents(t, phase+": ReadLog", e.readAndWarn(phase+": ReadLog", eventstore.Start, eventstore.ReadLog(ctx, s)), e.wanted(everything))
	sameEvents(t, phase+": ReadLog From", e.readAndWarn(phase+": ReadLog From", e.from, eventstore.ReadLog(ctx, s, eventstore.From(e.from))),
		keepAfter(e.from, everything)(e.wanted(everything)))
	for _, seq := range e.bad {
		if e.log.warnings(seq) == 0 {
			t.Errorf("%s: no warning names seq=%d", phase, seq)
		}
	}
}

// checkSubscriptions runs each kind of subscription through its catch-up
// and then, live, through a new bad message (made by mk) and a good append
// after it, which must be the next event delivered.
func (e *corruptEnv) checkSubscriptions(mk func() []byte) {
	e.t.Helper()
	t, s := e.t, e.store
	subs := []struct {
		name string
		from eventstore.Offset
		keep func(eventstore.Event) bool
		sub  func(ctx context.Context) iter.Seq2[eventstore.Event, error]
	}{
		{"Subscribe", eventstore.Start, inStream("acct/1"), func(ctx context.Context) iter.Seq2[eventstore.Event, error] {
			return s.Subscribe(ctx, "acct/1")
		}},
		{"Subscribe From", e.from, inStream("acct/1"), func(ctx context.Context) iter.Seq2[eventstore.Event, error] {
			return s.Subscribe(ctx, "acct/1", eventstore.From(e.from))
		}},
		{"SubscribeCategory", eventstore.Start, inCategory("acct"), func(ctx context.Context) iter.Seq2[eventstore.Event, error] {
			return s.SubscribeCategory(ctx, "acct")
		}},
		{"SubscribeCategory From", e.from, inCategory("acct"), func(ctx context.Context) iter.Seq2[eventstore.Event, error] {
			return s.SubscribeCategory(ctx, "acct", eventstore.From(e.from))
		}},
		{"SubscribeAll", eventstore.Start, everything, func(ctx context.Context) iter.Seq2[eventstore.Event, error] {
			return s.SubscribeAll(ctx)
		}},
		{"SubscribeAll From", e.from, everything, func(ctx context.Context) iter.Seq2[eventstore.Event, error] {
			return s.SubscribeAll(ctx, eventstore.From(e.from))
		}},
	}
	for _, sc := range subs {
		want := keepAfter(sc.from, sc.keep)(e.wanted(everything))
		ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
		var got []eventstore.Event
		var live chan struct{}
		for x, err := range sc.sub(ctx) {
			if err != nil {
				t.Errorf("%s: %v", sc.name, err)
				break
			}
			got = append(got, x)
			if len(got) == len(want) && live == nil {
				// Caught up: a bad message and a good append, live.
				live = make(chan struct{})
				go func() {
					defer close(live)
					subj := "rewind.s.acct.1"
					ack, err := e.js.Publish(e.ctx, subj, mk())
					if err != nil {
						t.Errorf("%s: publish: %v", sc.name, err)
						return
					}
					e.mu.Lock()
					e.bad = append(e.bad, ack.Sequence)
					e.mu.Unlock()
					events := []eventstore.Event{ev("Live", `"`+sc.name+`"`)}
					res, err := s.Append(e.ctx, "acct/1", events, eventstore.ExpectVersion(e.version("acct/1")))
					if err != nil {
						t.Errorf("%s: live append: %v", sc.name, err)
						return
					}
					e.record(res, events)
				}()
			}
			if len(got) > len(want) {
				break
			}
		}
		cancel()
		if live == nil {
			t.Errorf("%s: caught up with %d events, want %d: %s", sc.name, len(got), len(want), describe(got))
			continue
		}
		<-live
		sameEvents(t, sc.name, got, keepAfter(sc.from, sc.keep)(e.wanted(everything)))
	}
}

// TestCorruptMessagesAreSkipped publishes each kind of bad message in the
// middle of a stream and checks every read path, Head, Append and
// Reindex; then once more as the stream's last message, before an append
// and across a reopen.
func TestCorruptMessagesAreSkipped(t *testing.T) {
	for _, bm := range badMessages {
		t.Run(bm.name, func(t *testing.T) {
			t.Parallel()
			e := newCorruptEnv(t)
			ctx := e.ctx
			resA := e.append("acct/1", []eventstore.Event{ev("A", `"a"`)}, eventstore.ExpectNoStream())
			e.append("acct/2", evs(2, 1))
			resB := e.append("acct/1", []eventstore.Event{ev("B", `"b1"`), ev("B", `"b2"`), ev("B", `"b3"`)},
				eventstore.ExpectVersion(1))
			e.append("other/1", evs(1, 10))
			kit := func() badKit {
				return badKit{a: e.body(offsetSeq(t, resA.Offset())), b: e.body(offsetSeq(t, resB.Offset())),
					next: e.version("acct/1") + 1}
			}
			mk := func() []byte { return bm.make(t, kit()) }

			// In the middle of the stream.
			seq := e.publish("acct/1", mk())
			e.append("acct/2", evs(1, 3))
			e.append("acct/1", []eventstore.Event{ev("C", `"c1"`), ev("C", `"c2"`)}, eventstore.ExpectVersion(4))
			e.append("acct/1", []eventstore.Event{ev("D", `"d"`)})
			e.append("other/1", evs(1, 11))
			e.checkReads("middle")
			if e.log.warnings(seq) == 0 {
				t.Errorf("no warning names seq=%d", seq)
			}
			e.checkSubscriptions(mk)
			e.checkReads("after subscriptions")

			if err := e.store.Reindex(ctx, nil); err != nil {
				t.Fatalf("reindex: %v", err)
			}
			e.checkReads("reindexed")

			// As the stream's last message: appends with and without an
			// expected version.
			e.publish("acct/1", mk())
			e.checkReads("last message")
			e.append("acct/1", []eventstore.Event{ev("E", `"e"`)})
			e.publish("acct/1", mk())
			h, err := e.store.Head(ctx, "acct/1")
			if err != nil {
				t.Fatal(err)
			}
			e.append("acct/1", []eventstore.Event{ev("F", `"f"`)}, eventstore.ExpectVersion(h.Version))
			e.checkReads("appended after the last message")

			// Last message on the subject across a reopen, with nothing
			// cached.
			e.publish("acct/1", mk())
			e.reopen()
			e.checkReads("reopened")
			h, err = e.store.Head(ctx, "acct/1")
			if err != nil {
				t.Fatal(err)
			}
			if h.Version != e.version("acct/1") {
				t.Fatalf("reopened: head version %d, want %d", h.Version, e.version("acct/1"))
			}
			e.append("acct/1", []eventstore.Event{ev("G", `"g"`)}, eventstore.ExpectVersion(h.Version))
			e.append("acct/2", evs(1, 4), eventstore.ExpectVersion(e.version("acct/2")))
			e.checkReads("appended after reopening")
			if errs := e.log.errorLines(); len(errs) > 0 {
				t.Errorf("error log lines:\n%s", strings.Join(errs, "\n"))
			}
		})
	}
}
