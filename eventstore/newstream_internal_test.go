package eventstore

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestAppendNewStreamWithoutWaitingForIndex appends through a store whose
// index cannot reach the log's end (its tailer is held on another
// process's commit): a brand new stream is appended at once, where it used
// to wait for the index to hold every commit acknowledged before it; and a
// stream that only looks new to the held index (the other process wrote
// it, with a command id) is still decided by what the log holds: a
// duplicate for its command id, a *ConcurrencyError for ExpectVersion(0).
func TestAppendNewStreamWithoutWaitingForIndex(t *testing.T) {
	ctx := context.Background()
	a, err := Open(ctx, t.TempDir(), WithListen("127.0.0.1", 0))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := Connect(ctx, a.ClientURL(), WithIndexDir(t.TempDir()))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	g := &ctGates{gates: map[uint64]chan struct{}{}, arrived: map[uint64]chan struct{}{}}
	hook := g.hook
	b.tailHook.Store(&hook)
	t.Cleanup(g.releaseAll) // before the stores close

	one := func(tag string) []Event { return []Event{{Type: "Tick", Data: []byte(`"` + tag + `"`)}} }
	// a writes "taken" with a command id (log sequence 1); b's tailer is
	// held there, so b's index holds nothing of it.
	g.hold(1)
	first, err := a.Append(ctx, "taken", one("a"), WithCommandID("c1"))
	if err != nil || first.Version != 1 {
		t.Fatalf("a's append: %+v, %v", first, err)
	}
	g.waitArrived(t, 1)

	bounded := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 20*time.Second) }
	for _, opts := range [][]AppendOption{{ExpectVersion(0)}, nil} {
		c, cancel := bounded()
		res, err := b.Append(c, "fresh/"+map[bool]string{true: "expect", false: "any"}[opts != nil], one("b"), opts...)
		cancel()
		if err != nil || res.Version != 1 {
			t.Fatalf("append to a new stream while the index is held: %+v, %v", res, err)
		}
	}
	c, cancel := bounded()
	dup, err := b.Append(c, "taken", one("b"), ExpectVersion(0), WithCommandID("c1"))
	cancel()
	if err != nil || !dup.Duplicate || dup.Version != 1 || dup.Offsets[0] != first.Offsets[0] {
		t.Fatalf("append of a recorded command id to a stream new to the index: %+v, %v; want the duplicate of %+v", dup, err, first)
	}
	c, cancel = bounded()
	_, err = b.Append(c, "taken", one("b"), ExpectVersion(0))
	cancel()
	var ce *ConcurrencyError
	if !errors.As(err, &ce) || ce.Actual != 1 {
		t.Fatalf("ExpectVersion(0) on a stream new only to the index: %v, want a *ConcurrencyError at version 1", err)
	}

	g.releaseAll()
	for stream, want := range map[string]int{"taken": 1, "fresh/expect": 1, "fresh/any": 1} {
		n := 0
		for _, err := range b.Read(ctx, stream) {
			if err != nil {
				t.Fatalf("read %s: %v", stream, err)
			}
			n++
		}
		if n != want {
			t.Fatalf("%s: %d events, want %d", stream, n, want)
		}
	}
}
