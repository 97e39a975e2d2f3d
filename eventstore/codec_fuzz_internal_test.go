package eventstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

// fuzzSeedEvents returns n events with distinct ids, types, times, data
// and, when meta, metadata.
func fuzzSeedEvents(n int, meta bool) []Event {
	out := make([]Event, n)
	for i := range out {
		out[i] = Event{
			ID:   uuid.UUID{byte(i + 1), 0x70, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(i)},
			Type: "Type" + string(rune('A'+i%26)),
			Time: time.Unix(1700000000+int64(i), int64(i)*1000),
			Data: []byte(`{"n":` + string(rune('0'+i%10)) + `}`),
		}
		if meta {
			out[i].Metadata = map[string]string{MetaCorrelationID: "corr", MetaCausationID: "cause-" + string(rune('a'+i%26)), "k": ""}
		}
	}
	return out
}

// asFormatV1 turns a format-2 commit into the format-1 commit with the
// same contents (no store time).
func asFormatV1(body []byte) []byte {
	out := []byte{commitMagic, commitFormatV1}
	return append(out, body[10:]...)
}

// FuzzDecodeCommit checks that decodeCommit takes any body without
// panicking, that every error it returns wraps ErrCorrupt, and that a
// body it accepts yields exactly the events it announces, none of them
// failing, and re-encodes to a commit with the same contents.
func FuzzDecodeCommit(f *testing.F) {
	const stored = int64(1_700_000_000_123_456_789)
	one := encodeCommit(1, stored, nil, fuzzSeedEvents(1, false))
	several := encodeCommit(42, stored, nil, fuzzSeedEvents(5, true))
	producer := encodeCommit(7, stored, &producerMark{id: "producer-1", epoch: 3, firstSeq: 10, lastSeq: 12}, fuzzSeedEvents(3, false))
	empties := encodeCommit(1, stored, nil, []Event{{Type: "E"}})
	for _, b := range [][]byte{one, several, producer, empties} {
		f.Add(b)
		f.Add(asFormatV1(b))
		f.Add(b[:len(b)-1])                // truncated in the last event
		f.Add(b[:len(b)/2])                // truncated in the middle
		f.Add(slices.Concat(b, []byte{0})) // a byte too many
		f.Add(b[:2])                       // magic and format
		f.Add(b[:11])                      // through the first version
	}
	// Over-counted: a one-event commit that claims two (the count is the
	// byte after the flags byte in a non-producer commit).
	over := bytes.Clone(one)
	over[12] = 2
	f.Add(over)
	// A count varint that never ends, and one far too large.
	f.Add(append(bytes.Clone(one[:12]), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01))
	f.Add(binary.AppendUvarint(bytes.Clone(one[:12]), 1<<40))
	// A type length far beyond the body.
	huge := binary.AppendUvarint(bytes.Clone(one[:13+16]), 1<<62)
	f.Add(append(huge, "x"...))
	// A metadata count far beyond the body.
	f.Add(append(bytes.Clone(one[:13+16]), 1, 'A', 0, 0xff, 0xff, 0xff, 0xff, 0x0f))
	f.Add([]byte{})
	f.Add([]byte("R"))
	f.Add([]byte("not a commit"))
	// The lifecycle flags: a close with and without events (with a
	// producer mark and a command id), a tombstone, and the bodies no
	// writer makes (see lifecycleSeeds).
	for _, b := range lifecycleSeeds(stored) {
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		c, err := decodeCommit(body)
		_ = firstEventID(body) // must not panic either
		if !bytes.Equal(body, orig) {
			t.Fatalf("decodeCommit changed its input")
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if c.count > MaxEventsPerAppend || c.firstVersion == 0 || c.lastVersion()+1 < c.firstVersion ||
			c.count == 0 && !c.closes && !c.deletes && c.command == "" {
			t.Fatalf("accepted a commit of %d events from version %d (close %v, tombstone %v)", c.count, c.firstVersion, c.closes, c.deletes)
		}
		if c.deletes && (c.count != 0 || c.producer != nil || c.command != "" || c.closes || c.firstVersion != 1) {
			t.Fatalf("accepted a tombstone of %d events from version %d, producer %v, command %q, close %v",
				c.count, c.firstVersion, c.producer, c.command, c.closes)
		}
		const seq = 77
		logTime := time.Unix(0, 5)
		events := collectEvents(t, &c, seq, c.storedAt(logTime), nil)
		if arenaEvents := collectEvents(t, &c, seq, c.storedAt(logTime), newArena()); !sameDecoded(events, arenaEvents) {
			t.Fatalf("an arena decodes other events")
		}
		for i, e := range events {
			if e.Version != c.firstVersion+uint64(i) || e.Offset != eventPosition(seq, i, c.count).offset() || e.Stream != "s" {
				t.Fatalf("event %d: version %d, offset %s, stream %q", i, e.Version, e.Offset, e.Stream)
			}
		}
		// Stopping early is not an error.
		n := 0
		if err := c.eachEvent("s", seq, logTime, nil, func(Event) bool { n++; return false }); err != nil || n != min(c.count, 1) {
			t.Fatalf("stopping after the first event: %d events, %v", n, err)
		}

		// Re-encoding gives the same commit. A format-1 commit has no store
		// time (its events take the log's), and format 2 records it.
		storedAt := c.storedAt(logTime).UnixNano()
		in := make([]Event, len(events))
		for i, e := range events {
			in[i] = Event{ID: e.ID, Type: e.Type, Time: e.Time, Data: e.Data, Metadata: e.Metadata}
		}
		var flags byte
		if c.closes {
			flags |= flagClosed
		}
		if c.deletes {
			flags |= flagDeleted
		}
		body2 := encodeCommitData(c.firstVersion, storedAt, c.producer, c.command, c.commandData, flags, in)
		c2, err := decodeCommit(body2)
		if err != nil {
			t.Fatalf("re-encoded commit does not decode: %v", err)
		}
		if c2.closes != c.closes || c2.deletes != c.deletes || c2.command != c.command || !bytes.Equal(c2.commandData, c.commandData) {
			t.Fatalf("re-encoded: close %v, tombstone %v, command %q; want %v, %v, %q",
				c2.closes, c2.deletes, c2.command, c.closes, c.deletes, c.command)
		}
		if c2.firstVersion != c.firstVersion || c2.count != c.count || c2.stored != storedAt {
			t.Fatalf("re-encoded: %d events from version %d stored %d, want %d from %d stored %d",
				c2.count, c2.firstVersion, c2.stored, c.count, c.firstVersion, storedAt)
		}
		if (c.producer == nil) != (c2.producer == nil) || c.producer != nil && *c.producer != *c2.producer {
			t.Fatalf("re-encoded producer mark %+v, want %+v", c2.producer, c.producer)
		}
		if events2 := collectEvents(t, &c2, seq, c2.storedAt(logTime), nil); !sameDecoded(events, events2) {
			t.Fatalf("re-encoded commit decodes to other events")
		}
	})
}

// lifecycleSeeds returns commits with the lifecycle flags: the ones the
// store writes (a close with and without events, by a producer and with a
// command id; a tombstone; a command's record without events, by a
// producer or with data; events with an empty command data), then ones it
// never writes, which decodeCommit must reject: a tombstone with events, a
// producer mark, a command id, a close or a first version other than 1; a
// commit without events that neither closes nor deletes nor records a
// command id; command data without a command id; unknown flag bits.
func lifecycleSeeds(stored int64) [][]byte {
	pm := &producerMark{id: "p", epoch: 1, firstSeq: 4, lastSeq: 4}
	one := fuzzSeedEvents(1, false)
	return [][]byte{
		encodeCommitFlags(3, stored, nil, "", flagClosed, one),
		encodeCommitFlags(3, stored, pm, "cmd", flagClosed, nil),
		encodeCommitFlags(1, stored, nil, "", flagDeleted, nil),
		encodeCommitFlags(3, stored, pm, "cmd", 0, nil),
		encodeCommitData(3, stored, nil, "cmd", []byte(`{"r":true}`), 0, nil),
		encodeCommitData(3, stored, nil, "cmd", []byte{}, 0, one),
		// invalid from here (lifecycleValidSeeds)
		encodeCommitFlags(1, stored, nil, "", flagDeleted, one),
		encodeCommitFlags(1, stored, pm, "", flagDeleted, nil),
		encodeCommitFlags(1, stored, nil, "cmd", flagDeleted, nil),
		encodeCommitFlags(1, stored, nil, "", flagDeleted|flagClosed, nil),
		encodeCommitFlags(5, stored, nil, "", flagDeleted, nil),
		encodeCommitFlags(3, stored, nil, "", 0, nil),
		encodeCommitFlags(3, stored, nil, "", flagCmdData, one),
		encodeCommitFlags(3, stored, nil, "", 0x80|flagClosed, nil),
	}
}

// lifecycleValidSeeds is how many of lifecycleSeeds' first seeds are valid.
const lifecycleValidSeeds = 6

// collectEvents decodes every event of a commit, failing on error or on a
// count other than the one announced.
func collectEvents(t *testing.T, c *commit, seq uint64, stored time.Time, a *arena) []Event {
	t.Helper()
	var out []Event
	if err := c.eachEvent("s", seq, stored, a, func(e Event) bool {
		out = append(out, e)
		return true
	}); err != nil {
		t.Fatalf("eachEvent after decodeCommit accepted the body: %v (%d of %d events)", err, len(out), c.count)
	}
	if len(out) != c.count {
		t.Fatalf("eachEvent yielded %d events, the commit announces %d", len(out), c.count)
	}
	return out
}

// sameDecoded compares events field by field.
func sameDecoded(a, b []Event) bool {
	return slices.EqualFunc(a, b, func(x, y Event) bool {
		return x.ID == y.ID && x.Type == y.Type && x.Time.UnixNano() == y.Time.UnixNano() && bytes.Equal(x.Data, y.Data) &&
			maps.Equal(x.Metadata, y.Metadata) && x.Stream == y.Stream && x.Version == y.Version &&
			x.Offset == y.Offset && x.StoredAt.Equal(y.StoredAt)
	})
}
