package eventstore

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// A read must never show version n+1 without version n, even when this
// process's own later commit reached its index before another process's
// earlier one. The Connect store's tailer is held (tailHook) on the other
// process's commits, so that the index holds, in order of log sequence:
// everything up to the other's version n, then nothing for version n+1 (the
// other's, held), then version n+2 (this store's own append). A Read, a
// Head and a Subscribe begun before version n+1 was written, woken when
// version n reaches the index, must stop at version n (or wait for n+1),
// and never yield n+2 after n.

// ctGates holds the tailer before given log sequences until released.
type ctGates struct {
	mu      sync.Mutex
	gates   map[uint64]chan struct{}
	arrived map[uint64]chan struct{}
}

func (g *ctGates) hold(seq uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gates[seq] = make(chan struct{})
	g.arrived[seq] = make(chan struct{})
}

// hook is the tailer's: it signals its arrival at a held sequence and
// waits there.
func (g *ctGates) hook(seq uint64) {
	g.mu.Lock()
	gate, arrived := g.gates[seq], g.arrived[seq]
	g.mu.Unlock()
	if gate == nil {
		return
	}
	select {
	case <-arrived: // delivered again
	default:
		close(arrived)
	}
	<-gate
}

func (g *ctGates) waitArrived(t *testing.T, seq uint64) {
	t.Helper()
	g.mu.Lock()
	ch := g.arrived[seq]
	g.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("the tailer did not reach log sequence %d", seq)
	}
}

func (g *ctGates) release(seq uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ch := g.gates[seq]; ch != nil {
		close(ch)
		delete(g.gates, seq)
	}
}

func (g *ctGates) releaseAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for seq, ch := range g.gates {
		close(ch)
		delete(g.gates, seq)
	}
}

// ctHolders returns how many reads hold (or wait for) the store's index.
func ctHolders(s *Store) int {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	return s.idx.refs
}

type ctResult struct {
	isHead   bool
	versions []uint64
	head     Head
	err      error
}

func ctVersions(ctx context.Context, seq func(func(Event, error) bool), stop uint64) ([]uint64, error) {
	var vs []uint64
	for e, err := range seq {
		if err != nil {
			return vs, err
		}
		vs = append(vs, e.Version)
		if e.Version >= stop || ctx.Err() != nil {
			break
		}
	}
	return vs, nil
}

// ctContiguous describes the first hole in versions that should run 1..n,
// or returns "".
func ctContiguous(vs []uint64) string {
	for i, v := range vs {
		if v != uint64(i)+1 {
			return fmt.Sprintf("version %d after %d", v, i)
		}
	}
	return ""
}

func TestContiguousOwnCommitBeforeOthers(t *testing.T) {
	ctx := context.Background()
	a, err := Open(ctx, t.TempDir(), WithListen("127.0.0.1", 0))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	errs := &ctErrorLog{}
	b, err := Connect(ctx, a.ClientURL(), WithIndexDir(t.TempDir()), WithLogger(slog.New(errs)))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	g := &ctGates{gates: map[uint64]chan struct{}{}, arrived: map[uint64]chan struct{}{}}
	hook := g.hook
	b.tailHook.Store(&hook)
	t.Cleanup(g.releaseAll) // before the stores close

	const stream = "contiguous/own-first"
	one := func(tag string) []Event { return []Event{{Type: "Tick", Data: []byte(tag)}} }
	// b appends first, so that it knows the stream's head: its later
	// appends learn what a wrote from the log, not from its index.
	if _, err := b.Append(ctx, stream, one("b")); err != nil {
		t.Fatal(err)
	}
	last := uint64(1) // the log's last sequence: only this test writes
	early := 0        // reads and heads that returned while version n+1 was held
	for round := range 12 {
		// a writes version n (log sequence seq); b's tailer is held there.
		seq := last + 1
		g.hold(seq)
		g.hold(seq + 1)
		res, err := a.Append(ctx, stream, one(fmt.Sprintf("a%d", round)))
		if err != nil {
			t.Fatal(err)
		}
		n := res.Version
		g.waitArrived(t, seq)

		// A Read, a Head and a Subscribe through b begin now: they must
		// see version n, acknowledged (to a) before they began, and wait.
		before := ctHolders(b)
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		results := make(chan ctResult, 3)
		go func() {
			vs, err := ctVersions(sctx, b.Read(sctx, stream), ^uint64(0))
			results <- ctResult{versions: vs, err: err}
		}()
		go func() {
			h, err := b.Head(sctx, stream)
			results <- ctResult{isHead: true, head: h, err: err}
		}()
		subDone := make(chan ctResult, 1)
		go func() {
			vs, err := ctVersions(sctx, b.Subscribe(sctx, stream), n+2)
			subDone <- ctResult{versions: vs, err: err}
		}()
		deadline := time.Now().Add(5 * time.Second)
		for ctHolders(b) < before+3 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the reads did not start waiting for the index", round)
			}
			time.Sleep(time.Millisecond)
		}

		// a writes n+1 (held in b's tailer), then b writes n+2, which its
		// own index gets at once.
		if _, err := a.Append(ctx, stream, one(fmt.Sprintf("a%d+1", round))); err != nil {
			t.Fatal(err)
		}
		own, err := b.Append(ctx, stream, one(fmt.Sprintf("b%d", round)))
		if err != nil {
			t.Fatal(err)
		}
		if own.Version != n+2 {
			t.Fatalf("round %d: b's append stored version %d, want %d", round, own.Version, n+2)
		}
		last = seq + 2
		time.Sleep(4 * writerDelay) // b's own commit enters its index

		// Version n reaches b's index; n+1 stays held.
		g.release(seq)
		for range 2 {
			var r ctResult
			select {
			case r = <-results:
				early++
			case <-time.After(2 * time.Second):
				// Still waiting (for n+1, say): allowed; it is checked
				// once n+1 is let through.
				g.release(seq + 1)
				r = <-results
			}
			if r.err != nil {
				t.Fatalf("round %d: %v", round, r.err)
			}
			if !r.isHead {
				if d := ctContiguous(r.versions); d != "" {
					t.Errorf("round %d: Read through b yields %s (versions %v...)", round, d, r.versions[max(0, len(r.versions)-4):])
				}
				if got := uint64(len(r.versions)); got < n {
					t.Errorf("round %d: Read through b ends at version %d, version %d was acknowledged before it began", round, got, n)
				}
				continue
			}
			if r.head.Version < n {
				t.Errorf("round %d: Head through b at version %d, version %d was acknowledged before it began", round, r.head.Version, n)
			}
			if r.head.Version > n && ctGateHeld(g, seq+1) {
				t.Errorf("round %d: Head through b shows version %d while version %d is not in its index", round, r.head.Version, n+1)
			}
		}
		g.release(seq + 1)
		r := <-subDone
		cancel()
		if r.err != nil {
			t.Fatalf("round %d: Subscribe: %v", round, r.err)
		}
		if d := ctContiguous(r.versions); d != "" {
			t.Errorf("round %d: Subscribe through b delivers %s", round, d)
		}
		if got := uint64(len(r.versions)); got != n+2 {
			t.Errorf("round %d: Subscribe through b delivered %d versions, want %d", round, got, n+2)
		}
	}

	if m := errs.first(); m != "" {
		t.Errorf("b logged an error: %s", m)
	}
	t.Logf("%d of 24 reads and heads returned while the other's commit was held out of the index", early)

	// In the end both stores serve the log.
	var want []Event
	for e, err := range ReadLog(ctx, a) {
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, e)
	}
	for name, s := range map[string]*Store{"a": a, "b": b} {
		var got []Event
		for e, err := range s.Read(ctx, stream) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, e)
		}
		if len(got) != len(want) {
			t.Fatalf("final Read through %s: %d events, the log holds %d", name, len(got), len(want))
		}
		for i := range got {
			if got[i].ID != want[i].ID || got[i].Version != want[i].Version || got[i].Offset != want[i].Offset || string(got[i].Data) != string(want[i].Data) {
				t.Fatalf("final Read through %s: event %d is %d/%s, the log's %d/%s", name, i, got[i].Version, got[i].Offset, want[i].Version, want[i].Offset)
			}
		}
		h, err := s.Head(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		if h.Version != uint64(len(want)) || h.Offset != want[len(want)-1].Offset {
			t.Fatalf("final Head through %s: %+v, the log ends at %d/%s", name, h, len(want), want[len(want)-1].Offset)
		}
	}
}

// ctGateHeld reports whether the tailer is still held before seq.
func ctGateHeld(g *ctGates, seq uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gates[seq] != nil
}

// ctErrorLog records the store's error-level log lines (a damaged index
// found by a read, say).
type ctErrorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *ctErrorLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }

func (l *ctErrorLog) Handle(_ context.Context, r slog.Record) error {
	m := r.Message
	r.Attrs(func(a slog.Attr) bool {
		m += " " + a.String()
		return true
	})
	l.mu.Lock()
	l.msgs = append(l.msgs, m)
	l.mu.Unlock()
	return nil
}

func (l *ctErrorLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *ctErrorLog) WithGroup(string) slog.Handler      { return l }

func (l *ctErrorLog) first() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.msgs) == 0 {
		return ""
	}
	return l.msgs[0]
}
