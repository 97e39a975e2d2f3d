package eventstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/rewindhq/rewind/internal/natscluster"
)

// The tests in this file check that the read index's tailer of a store
// that shares its log stops its consumer while only this process writes,
// and still brings every commit of another process, and every commit
// whose acknowledgement was lost, into the index (tips.go, tailer.go).

// modeLog records a store's tailer's switches (modeHook).
type modeLog struct {
	mu sync.Mutex
	ev []modeEvent
}

type modeEvent struct {
	live bool
	why  string
}

func watchModes(s *Store) *modeLog {
	m := &modeLog{}
	hook := func(live bool, why string) {
		m.mu.Lock()
		m.ev = append(m.ev, modeEvent{live, why})
		m.mu.Unlock()
	}
	s.modeHook.Store(&hook)
	return m
}

// mark returns how many switches there were so far.
func (m *modeLog) mark() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.ev)
}

// since returns the switches after mark.
func (m *modeLog) since(mark int) []modeEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]modeEvent(nil), m.ev[mark:]...)
}

// waitFor waits for a switch after mark to live (with why, if not "") or
// to quiet.
func (m *modeLog) waitFor(t *testing.T, who string, mark int, live bool, why string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, e := range m.since(mark) {
			if e.live == live && (why == "" || e.why == why) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no switch to live=%v (%q) within 30 s; switches: %+v", who, live, why, m.since(mark))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitQuiet waits until the tailer's last switch was to quiet.
func (m *modeLog) waitQuiet(t *testing.T, who string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m.mu.Lock()
		quiet := len(m.ev) > 0 && !m.ev[len(m.ev)-1].live
		m.mu.Unlock()
		if quiet {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not quiet within 30 s; switches: %+v", who, m.since(0))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// consumersOf returns the names of the log's consumers that s made.
func consumersOf(t *testing.T, s *Store) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var names []string
	lister := s.logStream.ListConsumers(ctx)
	for info := range lister.Info() {
		if strings.HasPrefix(info.Name, "rewind_"+s.consumerPrefix+"_") {
			names = append(names, info.Name)
		}
	}
	if err := lister.Err(); err != nil {
		t.Fatalf("list consumers: %v", err)
	}
	return names
}

// waitNoConsumer waits until the log has no consumer of s.
func waitNoConsumer(t *testing.T, who string, s *Store) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		names := consumersOf(t, s)
		if len(names) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: its consumers of the log %v are still there 30 s on", who, names)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// indexedUpTo waits, without reading (a read would make the tailer
// catch up), until s's index holds every commit up to seq.
func indexedUpTo(t *testing.T, who string, s *Store, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		x, ok := s.hold()
		if !ok {
			t.Fatalf("%s: store closed", who)
		}
		pos := x.position()
		s.release(x)
		if pos >= seq {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the index holds the log up to %d, 30 s after %d was stored", who, pos, seq)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sharedPair returns two stores that share one log and follow it: an
// embedded one with a listener and a Connect store on it, or two Connect
// stores on a three-node cluster.
func sharedPair(t *testing.T, cluster bool) (a, b *Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var err error
	url := ""
	if cluster {
		c := natscluster.Start(t, 3)
		url = c.URLs()
		if a, err = Connect(ctx, url, WithIndexDir(t.TempDir()), WithReplicas(3)); err != nil {
			t.Fatalf("connect a: %v", err)
		}
	} else {
		if a, err = Open(ctx, t.TempDir(), WithListen("127.0.0.1", 0)); err != nil {
			t.Fatalf("open a: %v", err)
		}
		url = a.ClientURL()
	}
	t.Cleanup(func() { a.Close() })
	if b, err = Connect(ctx, url, WithIndexDir(t.TempDir())); err != nil {
		t.Fatalf("connect b: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// TestTailerQuietWhileAlone: two stores share a log. Each stops its
// consumer once it has delivered only its own commits for a while, and
// its own appends do not wake it; a commit of the other is then read at
// once (a WaitStream wakes, a read has it), woken by the other's tip, or,
// when the other sends none, by the comparison of the log's last sequence
// with the index; a commit whose acknowledgement was lost is indexed
// without any read asking for it. On an embedded store with a listener
// and a Connect store, and on a three-node cluster.
//
// On the code before tips, the stores never go quiet: the test fails at
// the first wait for quiet.
func TestTailerQuietWhileAlone(t *testing.T) {
	for _, cluster := range []bool{false, true} {
		for _, tipsSent := range []bool{true, false} {
			name := fmt.Sprintf("cluster=%v/tips=%v", cluster, tipsSent)
			t.Run(name, func(t *testing.T) {
				if cluster && testing.Short() {
					t.Skip("a three-node cluster: not with -short")
				}
				testTailerQuiet(t, cluster, tipsSent)
			})
		}
	}
}

func testTailerQuiet(t *testing.T, cluster, tipsSent bool) {
	a, b := sharedPair(t, cluster)
	ma, mb := watchModes(a), watchModes(b)
	for _, s := range []*Store{a, b} {
		// One switch only: a tip (tips) or the log's last sequence (no
		// tips) wakes the quiet tailer, so that what woke it is known.
		s.tips.tipsOnly.Store(tipsSent)
	}
	b.tips.muted.Store(!tipsSent) // b sends none, as an older Rewind would
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	one := func(tag string) []Event { return []Event{{Type: "Tick", Data: []byte(`"` + tag + `"`)}} }

	// Both alone: quiet, their consumers gone.
	ma.waitQuiet(t, "a")
	mb.waitQuiet(t, "b")
	waitNoConsumer(t, "a", a)
	waitNoConsumer(t, "b", b)

	// a's own appends keep it quiet: its own tips wake nothing.
	markA := ma.mark()
	for i := range 20 {
		if _, err := a.Append(ctx, "a/own", one(fmt.Sprint(i))); err != nil {
			t.Fatalf("a's append: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if evs, err := collect(a.Read(ctx, "a/own")); err != nil || len(evs) != 20 {
		t.Fatalf("a reads its own stream: %d events, %v", len(evs), err)
	}
	time.Sleep(3 * tailInterval)
	for _, e := range ma.since(markA) {
		// Without tips the comparison with the log may wake it when an
		// append took longer than a turn (a loaded machine): only a tip
		// must never.
		if e.live && (tipsSent || e.why == "tip") {
			t.Fatalf("a's own appends woke its tailer: %+v", ma.since(markA))
		}
	}

	// b writes: a, quiet, learns of it with nothing reading.
	why := "tip"
	if !tipsSent {
		why = "log"
	}
	markA = ma.mark()
	start := time.Now()
	res, err := b.Append(ctx, "b/x", one("b1"))
	if err != nil {
		t.Fatalf("b's append: %v", err)
	}
	indexedUpTo(t, "a", a, seqOf(t, res))
	t.Logf("a's index held b's commit %v after b's append began", time.Since(start))
	ma.waitFor(t, "a", markA, true, why)
	evs, err := collect(a.Read(ctx, "b/x"))
	if err != nil || len(evs) != 1 || evs[0].Offset != res.Offsets[0] || string(evs[0].Data) != `"b1"` {
		t.Fatalf("a reads b's stream: %+v, %v", evs, err)
	}

	// Quiet again once b stops; then a waits on b's stream and wakes
	// when b appends.
	ma.waitQuiet(t, "a")
	woke := make(chan error, 1)
	var head Head
	go func() {
		var err error
		head, err = a.WaitStream(ctx, "b/x", res.Offset())
		woke <- err
	}()
	time.Sleep(50 * time.Millisecond) // a waits (if not yet, it finds b's append at its first look)
	start = time.Now()
	res2, err := b.Append(ctx, "b/x", one("b2"))
	if err != nil {
		t.Fatalf("b's append: %v", err)
	}
	if err := <-woke; err != nil {
		t.Fatalf("a's WaitStream on b's stream: %v", err)
	}
	t.Logf("a's WaitStream woke %v after b's append began", time.Since(start))
	if head.Version != 2 || head.Offset != res2.Offset() {
		t.Fatalf("a's WaitStream: head %+v, want version 2 at %s", head, res2.Offset())
	}

	// A commit of b whose acknowledgement was lost (published, never
	// handed to the index by an append) is indexed while nothing reads:
	// no tip names it, the log's last sequence does.
	for _, s := range []*Store{a, b} {
		s.tips.tipsOnly.Store(false)
	}
	mb.waitQuiet(t, "b") // a's appends above woke it (a's tips)
	markB := mb.mark()
	subj, _ := subjectFor(b.prefix, "b/lost")
	body := encodeCommitFlags(1, 0, nil, "", 0, one("lost"))
	seq, _, err := b.publish(ctx, subj, body, 0, 0)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	indexedUpTo(t, "b", b, seq)
	mb.waitFor(t, "b", markB, true, "log")
	evs, err = collect(b.Read(ctx, "b/lost"))
	if err != nil || len(evs) != 1 || string(evs[0].Data) != `"lost"` {
		t.Fatalf("b reads its commit whose acknowledgement was lost: %+v, %v", evs, err)
	}
	indexedUpTo(t, "a", a, seq)
}

// seqOf returns the log sequence of an append's commit.
func seqOf(t *testing.T, res AppendResult) uint64 {
	t.Helper()
	p, err := res.Offset().position()
	if err != nil {
		t.Fatal(err)
	}
	return p.seq
}

// collect reads a whole iterator.
func collect(seq func(func(Event, error) bool)) ([]Event, error) {
	var evs []Event
	for e, err := range seq {
		if err != nil {
			return evs, err
		}
		evs = append(evs, e)
	}
	return evs, nil
}

// TestTailerTipsRefused: a store whose NATS user may not publish or
// subscribe on the tip subject follows the log live, as before tips, says
// so once in its log, and works: nothing fails.
func TestTailerTipsRefused(t *testing.T) {
	srv := StartUsersServer(t, &server.User{Username: "rw", Password: "rw-password-1234", Permissions: &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: []string{">"}, Deny: []string{tipSubject("rewind")}},
		Subscribe: &server.SubjectPermission{Allow: []string{">"}, Deny: []string{tipSubject("rewind")}},
	}})
	logs := &tipLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Connect(ctx, srv.ClientURL(), WithIndexDir(t.TempDir()), WithLogger(slog.New(logs)),
		WithNATSOptions(nats.UserInfo("rw", "rw-password-1234")))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	m := watchModes(s)
	// Appends for longer than the probe's wait and the quiet period.
	deadline := time.Now().Add(tipProbeWait + 2*quietAfter)
	n := 0
	for time.Now().Before(deadline) {
		if _, err := s.Append(ctx, "perm/1", []Event{{Type: "T", Data: []byte(`1`)}}); err != nil {
			t.Fatalf("append: %v", err)
		}
		n++
		time.Sleep(20 * time.Millisecond)
	}
	if evs, err := collect(s.Read(ctx, "perm/1")); err != nil || len(evs) != n {
		t.Fatalf("read: %d events of %d, %v", len(evs), n, err)
	}
	if evs := m.since(0); len(evs) != 0 {
		t.Fatalf("the tailer switched without tips: %+v", evs)
	}
	if len(consumersOf(t, s)) == 0 {
		t.Fatal("no live consumer of the log without tips")
	}
	if got := logs.count("the read index follows the log live"); got != 1 {
		t.Fatalf("%d log lines say the tips do not work, want 1", got)
	}
}

// tipLog counts the store's log lines by their message.
type tipLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *tipLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *tipLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return nil
}
func (l *tipLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *tipLog) WithGroup(string) slog.Handler      { return l }

func (l *tipLog) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.Contains(m, sub) {
			n++
		}
	}
	return n
}
