package eventstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

func tombstoneBody() []byte {
	return encodeCommitFlags(1, time.Now().UnixNano(), nil, "", flagDeleted, nil)
}

// readVersions reads a stream from the index as of covered: each event's
// version and the log sequence of its commit.
func readVersions(t *testing.T, x *index, name string, covered uint64) (versions, seqs []uint64) {
	t.Helper()
	err := x.readStream(name, &bounds{}, covered, func(e Event, p position) bool {
		versions, seqs = append(versions, e.Version), append(seqs, p.seq)
		return true
	})
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return versions, seqs
}

// TestWriterTombstoneThenNextInOneBatch: another process deletes a stream
// and appends to it again at once, so the tailer hands the writer the
// tombstone and the new stream's first commit in one batch. The commit at
// version 1 is the stream's next one, though the index held the old
// stream's versions when the batch began.
func TestWriterTombstoneThenNextInOneBatch(t *testing.T) {
	w := newTestWriter(t)
	log := func(seq uint64, body []byte) indexRec {
		return indexRec{name: "s/1", seq: seq, stored: 1, body: body, kind: recLog}
	}
	steps := [][]indexRec{
		{{name: "o/1", seq: 1, stored: 1, body: testCommit(1), kind: recAppend, last: 1, count: 1}}, // appends feed the index
		{log(2, testCommit(1)), log(3, testCommit(2))},
		{log(4, tombstoneBody()), log(5, testCommit(1)), log(6, testCommit(2))},
	}
	for i, recs := range steps {
		if err := w.apply(recs); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	if v, seqs := readVersions(t, w.x, "s/1", 6); len(v) != 2 || v[0] != 1 || seqs[0] != 5 || v[1] != 2 || seqs[1] != 6 {
		t.Fatalf("the index reads versions %v at %v; want 1, 2 at 5, 6", v, seqs)
	}
	h, err := w.x.head("s/1", 6)
	if err != nil || h.version != 2 || h.subjSeq != 6 {
		t.Fatalf("head %+v, %v; want version 2 at 6", h, err)
	}
}

// TestWriterTombstoneAfterOwnRecords: this process's records of the stream
// made again can enter the index before the tailer's tombstone (a new
// index generation that is still catching up when appends switch to it).
// The tombstone drops what came before it, and nothing after: the new
// stream's commit, producer state, command id and its close stay.
func TestWriterTombstoneAfterOwnRecords(t *testing.T) {
	w := newTestWriter(t)
	pm := &producerMark{id: "p", epoch: 0, firstSeq: 0, lastSeq: 0}
	old := encodeCommitFlags(2, 1, pm, "cmd-old", flagClosed, []Event{{ID: uuid.New(), Type: "T", Time: time.Now()}})
	recreated := encodeCommitFlags(1, 1, pm, "cmd-new", flagClosed, []Event{{ID: uuid.New(), Type: "T", Time: time.Now()}})
	steps := [][]indexRec{
		{{name: "s/1", seq: 1, stored: 1, body: testCommit(1), kind: recLog}, {name: "s/1", seq: 2, stored: 1, body: old, kind: recLog}},
		{{name: "s/1", seq: 4, stored: 1, body: recreated, kind: recAppend, last: 1, count: 1, producer: pm,
			command: "cmd-new", flags: flagClosed}},
		{{name: "s/1", seq: 3, stored: 1, body: tombstoneBody(), kind: recLog}},
		{{name: "s/1", seq: 4, stored: 1, body: recreated, kind: recLog}}, // read again: held
	}
	for i, recs := range steps {
		if err := w.apply(recs); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	x := w.x
	if v, seqs := readVersions(t, x, "s/1", 4); len(v) != 1 || seqs[0] != 4 {
		t.Fatalf("the index reads versions %v at %v; want 1 at 4", v, seqs)
	}
	h, err := x.head("s/1", 4)
	if err != nil || h.version != 1 || h.seq != 4 || !h.closed {
		t.Fatalf("head %+v, %v; want version 1 at 4, closed", h, err)
	}
	if ps, ok, err := x.producer("s/1", "p"); err != nil || !ok || ps.commitSeq != 4 {
		t.Fatalf("producer %+v %v %v; want the new stream's", ps, ok, err)
	}
	if _, ok, err := x.command("s/1", "cmd-old"); err != nil || ok {
		t.Fatalf("old command id kept: %v %v", ok, err)
	}
	if co, ok, err := x.command("s/1", "cmd-new"); err != nil || !ok || co.seq != 4 {
		t.Fatalf("new command id %+v %v %v", co, ok, err)
	}
}

// TestWriterNewestCountsEventlessCommits: "m.newest", which the open
// checks against the log, follows commits without events too; a delete
// purges the stream's older commits from the log, so a newest commit of
// the deleted stream would make every open after it rebuild the index.
func TestWriterNewestCountsEventlessCommits(t *testing.T) {
	w := newTestWriter(t)
	newest := func() newestCommit {
		t.Helper()
		v, err := w.x.get(keyNewest)
		n, ok := decodeNewest(v)
		if err != nil || !ok {
			t.Fatalf("m.newest: %v %v", ok, err)
		}
		return n
	}
	if err := w.apply([]indexRec{{name: "s/1", seq: 1, stored: 1, body: testCommit(1), kind: recLog}}); err != nil {
		t.Fatal(err)
	}
	closing := encodeCommitFlags(2, 1, nil, "", flagClosed, nil)
	if err := w.apply([]indexRec{{name: "s/1", seq: 2, stored: 1, body: closing, kind: recAppend, last: 1, flags: flagClosed}}); err != nil {
		t.Fatal(err)
	}
	if n := newest(); n.seq != 2 || n.name != "s/1" || n.id != uuid.Nil {
		t.Fatalf("after a close: newest %+v, want the close at 2", n)
	}
	if err := w.apply([]indexRec{{name: "s/1", seq: 3, stored: 1, body: tombstoneBody(), kind: recLog}}); err != nil {
		t.Fatal(err)
	}
	if n := newest(); n.seq != 3 || n.id != firstEventID(tombstoneBody()) {
		t.Fatalf("after a tombstone: newest %+v, want the tombstone at 3", n)
	}
}

// TestDecodeLifecycleFlags: the lifecycle bodies a store writes decode;
// the ones it never writes are corrupt.
func TestDecodeLifecycleFlags(t *testing.T) {
	seeds := lifecycleSeeds(1)
	valid := lifecycleValidSeeds // the first ones are written by the store
	for i, b := range seeds {
		_, err := decodeCommit(b)
		if i < valid && err != nil {
			t.Errorf("seed %d: %v", i, err)
		}
		if i >= valid && !errors.Is(err, ErrCorrupt) {
			t.Errorf("seed %d accepted (%v)", i, err)
		}
	}
}

// TestWaitStreamLeavesNoWaiters: every WaitStream that returns, however it
// returns, takes its entry out of the store's waiters.
func TestWaitStreamLeavesNoWaiters(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waiters := func() int {
		s.waits.mu.Lock()
		defer s.waits.mu.Unlock()
		return len(s.waits.m)
	}
	done := make(chan error, 20)
	for i := 0; i < 10; i++ {
		go func() {
			short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			_, err := s.WaitStream(short, "w/1", Start)
			done <- err
		}()
		go func() {
			_, err := s.WaitStream(ctx, "w/2", Start)
			done <- err
		}()
	}
	for i := 0; i < 10; i++ {
		if err := <-done; err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(ctx, "w/2", []Event{{Type: "T"}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := waiters(); n != 0 {
		t.Fatalf("%d streams still have waiters", n)
	}
}
