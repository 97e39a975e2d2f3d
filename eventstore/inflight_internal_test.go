package eventstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestInflightFill: the tailer's record of a log message gets the fields of
// the append in flight on its stream only when its body is that append's
// commit (the store time aside, which each try stamps anew: the record
// keeps the stored one); not another stream's, another commit's, a
// format-1 commit's, or one whose append has ended.
func TestInflightFill(t *testing.T) {
	var f inflightSet
	pm := &producerMark{id: "p", epoch: 1, firstSeq: 4, lastSeq: 4}
	events := []Event{{ID: uuid.New(), Type: "T", Time: time.Now(), Data: []byte("x")}}
	body := encodeCommitData(3, 111, pm, "cmd", []byte("out"), flagClosed, events)
	f.add("s/1", inflightCommit{body: body, last: 3, producer: pm, command: "cmd", cmdData: []byte("out"), count: 1, flags: flagClosed})

	stored := bytes.Clone(body)
	setStoredAt(stored, 222) // an earlier try's stamp, stored
	r := indexRec{name: "s/1", seq: 9, stored: 5, body: stored, kind: recLog}
	if !f.fill(&r) {
		t.Fatal("the copy of the append's commit is not recognized")
	}
	if !r.known || r.last != 3 || r.producer != pm || r.command != "cmd" || string(r.cmdData) != "out" ||
		r.count != 1 || r.flags != flagClosed || r.stored != 222 {
		t.Errorf("filled record %+v: want the append's fields and the stored store time 222", r)
	}

	other := encodeCommitData(3, 111, pm, "cmd", []byte("out"), flagClosed,
		[]Event{{ID: uuid.New(), Type: "T", Time: events[0].Time, Data: []byte("x")}})
	v1 := encodeCommitData(3, 111, pm, "cmd", []byte("out"), flagClosed, events)
	v1[1] = commitFormatV1
	for name, r := range map[string]indexRec{
		"another stream":  {name: "s/2", seq: 9, body: stored, kind: recLog},
		"another commit":  {name: "s/1", seq: 9, body: other, kind: recLog},
		"format 1":        {name: "s/1", seq: 9, body: v1, kind: recLog},
		"a short message": {name: "s/1", seq: 9, body: []byte("R\x02"), kind: recLog},
	} {
		if f.fill(&r) || r.known {
			t.Errorf("%s: recognized as the append's commit", name)
		}
	}
	f.remove("s/1")
	r = indexRec{name: "s/1", seq: 9, body: stored, kind: recLog}
	if f.fill(&r) || r.known {
		t.Error("recognized after the append ended")
	}
}

// TestWriterEntersKnownCopies: the tailer's record of this process's own
// commit in flight (known) enters the index with the fields it carries, as
// the append's record would, and the store time its body carries; the
// append's record that comes in a later batch is skipped, and a second
// delivery of the copy leaves one entry in the log-ordered copy.
func TestWriterEntersKnownCopies(t *testing.T) {
	w := newTestWriter(t)
	w.followsLog()
	var logged bytes.Buffer
	w.log = slog.New(slog.NewTextHandler(&logged, nil))
	body := testCommit(2)
	stamp := int64(binary.BigEndian.Uint64(body[2:10]))
	known := indexRec{name: "s/1", seq: 2, stored: stamp, body: body, kind: recLog, last: 2, count: 1, known: true}
	steps := [][]indexRec{
		{{name: "s/1", seq: 1, stored: 1, body: testCommit(1), kind: recAppend, last: 1, count: 1}},
		{known},
		{{name: "s/1", seq: 2, stored: 7, body: body, kind: recAppend, last: 2, count: 1}},
		{known, known},
	}
	for i, recs := range steps {
		if err := w.apply(recs); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	v, s := readVersions(t, w.x, "s/1", 2)
	if fmt.Sprint(v, s) != "[1 2] [1 2]" {
		t.Errorf("s/1 reads versions %v at %v, want [1 2] at [1 2]", v, s)
	}
	var seqs []uint64
	var at []time.Time
	if err := w.x.readOrdered(nameMatch{}, &bounds{}, 2, func(e Event, p position) bool {
		seqs, at = append(seqs, p.seq), append(at, e.StoredAt)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seqs) != "[1 2]" || !at[1].Equal(time.Unix(0, stamp)) {
		t.Errorf("the log-ordered copy holds %v stored at %v, want [1 2] with the copy's store time %v", seqs, at, time.Unix(0, stamp))
	}
	if f, err := w.x.get(foreignKey("s/1")); err != nil || f != nil {
		t.Errorf("a foreign message recorded on s/1: %x (%v)", f, err)
	}
	if logged.Len() > 0 {
		t.Errorf("the writer logged %s", logged.String())
	}
	if pos := w.x.position(); pos != 2 {
		t.Errorf("the index covers the log up to %d, want 2", pos)
	}
}
