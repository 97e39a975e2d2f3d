package eventstore

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"testing"
	"time"
)

// TestOrderedReadSwitchesToTheLog holds a Connect store's tailer in the
// middle of the log, so that its index covers only the first part, and
// checks that ReadAll, ReadCategory and their subscriptions, served by the
// index's log-ordered copy up to there and by the log after it, give
// exactly the log: every bound, a From inside a commit at the switch, a
// copy of a stream's last indexed commit published just past the switch
// (which only the stream's version as of the switch shows to be a copy),
// and the store's own append, which its index holds above the switch.
func TestOrderedReadSwitchesToTheLog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := Open(ctx, t.TempDir(), WithListen("127.0.0.1", 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := Connect(ctx, a.ClientURL(), WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	g := &ctGates{gates: map[uint64]chan struct{}{}, arrived: map[uint64]chan struct{}{}}
	hook := g.hook
	b.tailHook.Store(&hook)
	t.Cleanup(g.releaseAll)

	streams := []string{"acct/1", "acct/2", "acct/1/sub", "other/1", "acctx/1"}
	three := func(tag string) []Event {
		return []Event{{Type: "A", Data: []byte(tag + ".0")}, {Type: "B", Data: []byte(tag + ".1")}, {Type: "C", Data: []byte(tag + ".2")}}
	}
	appendVia := func(s *Store, i int) AppendResult {
		t.Helper()
		res, err := s.Append(ctx, streams[i%len(streams)], three(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// b appends the 20th, to acctx/1: it then knows that stream's head,
	// and its own append below needs nothing from its held index.
	for i := range 19 {
		appendVia(a, i)
	}
	appendVia(b, 19)
	// b's index covers the first 20 commits; its tailer is held at 21.
	hold := uint64(21)
	g.hold(hold)
	if _, err := b.Head(ctx, "acct/1"); err != nil {
		t.Fatal(err)
	}
	// Past the switch: a copy of acct/1's last commit (seq 16), then more
	// commits of a, then b's own (in its index above the switch).
	subj, _ := subjectFor(a.prefix, "acct/1")
	m, err := a.logMsg(ctx, 16)
	if err != nil || m == nil {
		t.Fatalf("log message 16: %v", err)
	}
	if _, err := a.js.Publish(ctx, subj, m.data); err != nil {
		t.Fatal(err)
	}
	for i := 20; i < 30; i++ {
		appendVia(a, i)
	}
	own := appendVia(b, 34)
	g.waitArrived(t, hold)
	time.Sleep(4 * writerDelay)
	if pos := b.idx.position(); pos != hold-1 {
		t.Fatalf("b's index covers the log up to %d, want %d", pos, hold-1)
	}

	log := collectSeq(t, ReadLog(ctx, a))
	if len(log) != 31*3 {
		t.Fatalf("the log holds %d events, want %d", len(log), 31*3)
	}
	if log[len(log)-1].Offset != own.Offset() {
		t.Fatalf("the log ends at %s, b's append at %s", log[len(log)-1].Offset, own.Offset())
	}
	inAcct := func(e Event) bool { return e.Stream == "acct" || strings.HasPrefix(e.Stream, "acct/") }
	var cuts []Offset // around the switch, and inside its commits
	for _, e := range log {
		if seq := offsetSeqOf(e.Offset); seq >= hold-2 && seq <= hold+2 || seq == 10 {
			cuts = append(cuts, e.Offset)
		}
	}
	cuts = append(cuts, Start)
	check := func(what string, got iter.Seq2[Event, error], want []Event) {
		t.Helper()
		if d := eventsDiff(collectSeq(t, got), want); d != "" {
			t.Errorf("%s: %s", what, d)
		}
	}
	for _, from := range cuts {
		if offsetSeqOf(from) > hold {
			// The log part of a read From beyond the switch learns the
			// versions of its streams from the index, which is held.
			continue
		}
		after := func(keep func(Event) bool) []Event {
			var out []Event
			for _, e := range log {
				if e.Offset > from && keep(e) {
					out = append(out, e)
				}
			}
			return out
		}
		all := func(Event) bool { return true }
		check("ReadAll From "+string(from), b.ReadAll(ctx, From(from)), after(all))
		check("ReadCategory From "+string(from), b.ReadCategory(ctx, "acct", From(from)), after(inAcct))
		for _, to := range cuts {
			var want []Event
			for _, e := range after(all) {
				if e.Offset > to {
					break
				}
				want = append(want, e)
			}
			check("ReadAll From "+string(from)+" ToOffset "+string(to), b.ReadAll(ctx, From(from), ToOffset(to)), want)
		}
	}
	for _, e := range log {
		var want []Event
		for _, w := range log {
			if w.StoredAt.After(e.StoredAt) {
				break
			}
			want = append(want, w)
		}
		check("ReadAll ToTime "+e.StoredAt.String(), b.ReadAll(ctx, ToTime(e.StoredAt)), want)
	}

	// The subscriptions catch up across the switch, then go live; the
	// tailer is let go meanwhile.
	subscribe := func(seq iter.Seq2[Event, error], n int) chan []Event {
		out := make(chan []Event, 1)
		go func() {
			var got []Event
			for e, err := range seq {
				if err != nil {
					t.Error(err)
					break
				}
				if got = append(got, e); len(got) == n {
					break
				}
			}
			out <- got
		}()
		return out
	}
	sctx, scancel := context.WithTimeout(ctx, 20*time.Second)
	defer scancel()
	for i := 31; i < 40; i++ {
		appendVia(a, i)
	}
	full := collectSeq(t, ReadLog(ctx, a))
	var acct []Event
	for _, e := range full {
		if inAcct(e) {
			acct = append(acct, e)
		}
	}
	var acctFrom []Event
	for _, e := range acct {
		if e.Offset > cuts[0] {
			acctFrom = append(acctFrom, e)
		}
	}
	subAll := subscribe(b.SubscribeAll(sctx), len(full))
	subCat := subscribe(b.SubscribeCategory(sctx, "acct", From(cuts[0])), len(acctFrom))
	time.Sleep(50 * time.Millisecond)
	g.releaseAll()
	if d := eventsDiff(<-subAll, full); d != "" {
		t.Errorf("SubscribeAll: %s", d)
	}
	if d := eventsDiff(<-subCat, acctFrom); d != "" {
		t.Errorf("SubscribeCategory From %s: %s", cuts[0], d)
	}
}

func collectSeq(t *testing.T, seq iter.Seq2[Event, error]) []Event {
	t.Helper()
	var out []Event
	for e, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func offsetSeqOf(o Offset) uint64 {
	p, _ := o.position()
	return p.seq
}

// eventsDiff describes the first difference between two event lists, or
// returns "".
func eventsDiff(got, want []Event) string {
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Stream != w.Stream || g.Version != w.Version || g.Offset != w.Offset ||
			!g.StoredAt.Equal(w.StoredAt) || string(g.Data) != string(w.Data) || g.Type != w.Type {
			return fmt.Sprintf("event %d is %s/%d at %s, want %s/%d at %s", i, g.Stream, g.Version, g.Offset, w.Stream, w.Version, w.Offset)
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d events, want %d", len(got), len(want))
	}
	return ""
}
