package eventstore

import (
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
