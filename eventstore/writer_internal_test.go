package eventstore

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
)

// newTestWriter opens an index in a temp dir with a writer whose batches
// the test applies itself.
func newTestWriter(t *testing.T) *indexWriter {
	t.Helper()
	x, reason := tryOpenIndex(t.TempDir(), "log-1", 0, 1<<20, slog.Default())
	if reason != "" {
		t.Fatal(reason)
	}
	w := &indexWriter{x: x, log: slog.Default(), logHeads: make(map[string]logHead)}
	x.w, x.filter = w, newCommandFilter()
	t.Cleanup(func() { x.db.Close(); x.cache.Unref() })
	return w
}

func testCommit(first uint64) []byte {
	return encodeCommit(first, time.Now().UnixNano(), nil, []Event{{ID: uuid.New(), Type: "T", Time: time.Now()}})
}

// TestWriterTailerHoles: once appends feed the index, the tailer skips
// what they entered, so one batch can hold a stream's messages with a hole
// that an earlier batch filled from appends' records. The message after
// the hole is the stream's next commit all the same, and enters the index.
func TestWriterTailerHoles(t *testing.T) {
	w := newTestWriter(t)
	log := func(seq, first uint64) indexRec {
		return indexRec{name: "s/1", seq: seq, stored: 1, body: testCommit(first), kind: recLog}
	}
	app := func(seq, v uint64) indexRec {
		return indexRec{name: "s/1", seq: seq, stored: 1, body: testCommit(v), kind: recAppend, last: v, count: 1}
	}
	steps := [][]indexRec{
		{log(1, 1)},
		{app(2, 2), app(3, 3)},  // this process's appends
		{log(1, 1), log(4, 4)},  // a second pass of the tailer, and another writer's v4
		{log(5, 5), app(6, 6)},  // the next ones
		{log(6, 6), log(7, 99)}, // v6 read again; v99 is no next commit
	}
	for i, recs := range steps {
		if err := w.apply(recs); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	var versions []uint64
	err := w.x.readStream("s/1", &bounds{}, 7, func(e Event, _ position) bool {
		versions = append(versions, e.Version)
		return true
	})
	if err != nil || len(versions) != 6 || versions[5] != 6 {
		t.Fatalf("the index reads %v, %v; want versions 1 to 6", versions, err)
	}
	h, err := w.x.head("s/1", 7)
	if err != nil || h.version != 6 || h.subjSeq != 7 {
		t.Fatalf("head %+v, %v; want version 6 with the foreign message 7 as the subject's last", h, err)
	}
}

// TestWriterCommitDeliveredTwice: the tailer's consumer is replaced after
// missed heartbeats, a gap or a stall, and a delivery can reach the writer
// twice (a chunk handed over again from an older position, an append's
// record and the tailer's of one commit). Each commit enters the index
// once whichever way its copies come: in one batch, in two, after an
// append's record, while no append fed the index (a rebuild, whose check
// uses the writer's own cache of streams' heads) and after; the
// log-ordered copy, which ReadAll counts, holds one entry per commit; and
// a second copy is known as one, not rejected as a stray message.
func TestWriterCommitDeliveredTwice(t *testing.T) {
	for _, appends := range []bool{false, true} {
		w := newTestWriter(t)
		var logged bytes.Buffer
		w.log = slog.New(slog.NewTextHandler(&logged, nil))
		bodies := map[uint64][]byte{}
		rec := func(name string, seq, first uint64) indexRec {
			if bodies[seq] == nil {
				bodies[seq] = testCommit(first)
			}
			return indexRec{name: name, seq: seq, stored: 1, body: bodies[seq], kind: recLog}
		}
		steps := [][]indexRec{
			{rec("a/1", 1, 1), rec("b/1", 2, 1), rec("a/1", 3, 2)},
			{rec("a/1", 3, 2), rec("b/1", 4, 2), rec("b/1", 4, 2), rec("a/1", 5, 3)}, // 3 again; 4 twice in one batch
			{rec("a/1", 1, 1), rec("b/1", 2, 1), rec("a/1", 3, 2), rec("b/1", 4, 2)}, // a pass from the start again
		}
		if appends {
			app := indexRec{name: "a/1", seq: 6, stored: 1, body: testCommit(4), kind: recAppend, last: 4, count: 1}
			bodies[6] = app.body
			steps = append(steps, []indexRec{app}, []indexRec{rec("a/1", 5, 3), rec("a/1", 6, 4), rec("a/1", 6, 4), rec("b/1", 7, 3)})
		} else {
			steps = append(steps, []indexRec{rec("a/1", 5, 3), rec("a/1", 6, 4), rec("a/1", 6, 4), rec("b/1", 7, 3)})
		}
		for i, recs := range steps {
			if err := w.apply(recs); err != nil {
				t.Fatalf("appends %v: batch %d: %v", appends, i, err)
			}
		}
		var seqs []uint64
		if err := w.x.readOrdered(nameMatch{}, &bounds{}, 7, func(e Event, p position) bool {
			seqs = append(seqs, p.seq)
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if want := []uint64{1, 2, 3, 4, 5, 6, 7}; fmt.Sprint(seqs) != fmt.Sprint(want) {
			t.Errorf("appends %v: the log-ordered copy holds commits at %v, want %v", appends, seqs, want)
		}
		for name, want := range map[string][2][]uint64{"a/1": {{1, 2, 3, 4}, {1, 3, 5, 6}}, "b/1": {{1, 2, 3}, {2, 4, 7}}} {
			if v, s := readVersions(t, w.x, name, 7); fmt.Sprint(v, s) != fmt.Sprint(want[0], want[1]) {
				t.Errorf("appends %v: %s reads versions %v at %v, want %v at %v", appends, name, v, s, want[0], want[1])
			}
		}
		if pos := w.x.position(); pos != 7 {
			t.Errorf("appends %v: the index covers the log up to %d, want 7", appends, pos)
		}
		if logged.Len() > 0 {
			t.Errorf("appends %v: the writer logged %s", appends, logged.String())
		}
	}
}

// TestWriterSkipsOwnCommits: the tailer's record of a commit this process's
// append entered (in an earlier batch, or beside the append's own record
// in the same batch) is not decoded or checked again: the append's record
// stands for it. The tailer's records here carry a body that is no commit,
// so a record that was checked would be logged and recorded as a foreign
// message; the other process's commit between them is checked against the
// version the append's record entered.
func TestWriterSkipsOwnCommits(t *testing.T) {
	w := newTestWriter(t)
	w.followsLog()
	var logged bytes.Buffer
	w.log = slog.New(slog.NewTextHandler(&logged, nil))
	app := func(seq, v uint64) indexRec {
		return indexRec{name: "s/1", seq: seq, stored: 1, body: testCommit(v), kind: recAppend, last: v, count: 1}
	}
	tailed := func(seq uint64) indexRec { // the tailer's record of an own commit, as if it were unreadable
		return indexRec{name: "s/1", seq: seq, stored: 1, body: []byte("not decoded"), kind: recLog}
	}
	foreign := func(seq, v uint64) indexRec {
		return indexRec{name: "s/1", seq: seq, stored: 1, body: testCommit(v), kind: recLog}
	}
	steps := [][]indexRec{
		{app(1, 1), app(2, 2)},
		{tailed(1), tailed(2)},                // entered in an earlier batch
		{tailed(3), app(3, 3), foreign(4, 4)}, // the tailer's record first, in the same batch
		{app(5, 5), tailed(5), foreign(6, 6)}, // the append's first
		{app(7, 7), app(9, 9)},                // ahead of the tailer
		{tailed(7), foreign(8, 8), tailed(9)}, // 8 between them
	}
	for i, recs := range steps {
		if err := w.apply(recs); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	v, s := readVersions(t, w.x, "s/1", 9)
	if want := "[1 2 3 4 5 6 7 8 9] [1 2 3 4 5 6 7 8 9]"; fmt.Sprint(v, s) != want {
		t.Errorf("s/1 reads versions and sequences %v %v, want %s", v, s, want)
	}
	if f, err := w.x.get(foreignKey("s/1")); err != nil || f != nil {
		t.Errorf("a foreign message recorded on s/1: %x (%v)", f, err)
	}
	if pos := w.x.position(); pos != 9 {
		t.Errorf("the index covers the log up to %d, want 9", pos)
	}
	if logged.Len() > 0 {
		t.Errorf("the writer logged %s", logged.String())
	}
	if len(w.own) != 0 {
		t.Errorf("the writer still remembers own commits %v after the tailer passed them", w.own)
	}
}

// TestWriterOwnBounded: without a tailer that follows the log (a sole
// writer's), the writer remembers no appended commits; with one, what it
// remembers stays within maxOwn.
func TestWriterOwnBounded(t *testing.T) {
	w := newTestWriter(t)
	app := func(seq uint64) indexRec {
		return indexRec{name: "s/1", seq: seq, stored: 1, body: testCommit(seq), kind: recAppend, last: seq, count: 1}
	}
	if err := w.apply([]indexRec{app(1), app(2)}); err != nil {
		t.Fatal(err)
	}
	if len(w.own) != 0 {
		t.Errorf("a sole writer's index remembers %d appended commits", len(w.own))
	}
	w.followsLog()
	w.own = make(map[uint64]struct{})
	for seq := uint64(3); seq < maxOwn+10; seq++ {
		w.own[seq] = struct{}{} // as if entered and never tailed
	}
	if err := w.apply([]indexRec{app(maxOwn + 10)}); err != nil {
		t.Fatal(err)
	}
	if len(w.own) > maxOwn {
		t.Errorf("the writer remembers %d appended commits, more than %d", len(w.own), maxOwn)
	}
}
