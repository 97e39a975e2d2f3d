package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

func TestParseOffset(t *testing.T) {
	valid := []string{
		"now",
		"00000000000000000000_000000", // Start
		"00000000000000000001_000001",
		"00000000000000000042_999999", // after all of commit 42
		"18446744073709551615_999999", // the largest sequence
	}
	for _, s := range valid {
		o, err := eventstore.ParseOffset(s)
		if err != nil || string(o) != s || o.String() != s {
			t.Errorf("ParseOffset(%q) = %q, %v; want it back unchanged", s, o, err)
		}
	}
	if o, err := eventstore.ParseOffset("-1"); err != nil || o != eventstore.Start {
		t.Errorf(`ParseOffset("-1") = %q, %v; want Start`, o, err)
	}

	invalid := map[string]string{
		// One position, one string: these name positions the store spells
		// otherwise, so it never hands them out.
		"before commit 1 (Start)":    "00000000000000000001_000000",
		"before commit 9 (8_999999)": "00000000000000000009_000000",
		"inside commit 0":            "00000000000000000000_000001",
		"empty":                      "",
		"leading space":              " -1",
		"trailing space":             "now ",
		"inner space":                "00000000000000000001 000001",
		"upper-case now":             "NOW",
		"start spelled -2":           "-2",
		"zero":                       "0",
		"path":                       "../",
		"slash":                      "/",
		"slash inside":               "00000000000000000001/000001",
		"NUL":                        "\x00",
		"NUL inside":                 "00000000000000000001_00000\x00",
		"newline":                    "\n",
		"trailing newline":           "00000000000000000001_000001\n",
		"CRLF":                       "\r\n",
		"comma":                      ",",
		"comma separated":            "00000000000000000001,000001",
		"19-digit sequence":          "0000000000000000001_000001",
		"21-digit sequence":          "000000000000000000001_000001",
		"5-digit index":              "00000000000000000001_00001",
		"7-digit index":              "00000000000000000001_0000001",
		"no separator":               "00000000000000000001000001",
		"dash separator":             "00000000000000000001-000001",
		"hex digit":                  "0000000000000000000a_000001",
		"sign":                       "+0000000000000000001_000001",
		"negative":                   "-0000000000000000001_000001",
		"non-ASCII digit":            "0000000000000000000١_000001",
		"seq 0 with an index":        "00000000000000000000_000001",
		"sequence overflow":          "18446744073709551616_000000",
		"all nines":                  "99999999999999999999_999999",
		"query string":               "00000000000000000001_000001?x=1",
		"two offsets":                "00000000000000000001_000001&00000000000000000002_000001",
		"equals":                     "=00000000000000000001_00001",
		"offset and new line":        "now\n",
		"start with trailing":        "-1/",
		"unicode minus":              "−1",
		"zero-width character":       "now\u200b",
	}
	for label, s := range invalid {
		o, err := eventstore.ParseOffset(s)
		if !errors.Is(err, eventstore.ErrInvalidOffset) {
			t.Errorf("%s: ParseOffset(%q) = %q, %v; want ErrInvalidOffset", label, s, o, err)
		}
	}
}

// TestInvalidOffsetOptions checks that a bad offset given to From or
// ToOffset makes every read and subscription yield an error wrapping
// ErrInvalidOffset before any event.
func TestInvalidOffsetOptions(t *testing.T) {
	s, _ := openStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Append(ctx, "orders/1", evs(3, 0)); err != nil {
		t.Fatal(err)
	}
	type read struct {
		name string
		seq  func(...eventstore.ReadOption) iter.Seq2[eventstore.Event, error]
	}
	reads := []read{
		{"Read", func(o ...eventstore.ReadOption) iter.Seq2[eventstore.Event, error] {
			return s.Read(ctx, "orders/1", o...)
		}},
		{"ReadAll", func(o ...eventstore.ReadOption) iter.Seq2[eventstore.Event, error] { return s.ReadAll(ctx, o...) }},
		{"ReadCategory", func(o ...eventstore.ReadOption) iter.Seq2[eventstore.Event, error] {
			return s.ReadCategory(ctx, "orders", o...)
		}},
		{"Subscribe", func(o ...eventstore.ReadOption) iter.Seq2[eventstore.Event, error] {
			return s.Subscribe(ctx, "orders/1", o...)
		}},
		{"SubscribeCategory", func(o ...eventstore.ReadOption) iter.Seq2[eventstore.Event, error] {
			return s.SubscribeCategory(ctx, "orders", o...)
		}},
		{"SubscribeAll", func(o ...eventstore.ReadOption) iter.Seq2[eventstore.Event, error] { return s.SubscribeAll(ctx, o...) }},
	}
	opts := map[string]eventstore.ReadOption{
		"From(garbage)":    eventstore.From("garbage"),
		"From(../)":        eventstore.From("../"),
		"From(seq 0 idx)":  eventstore.From("00000000000000000000_000001"),
		"From(overflow)":   eventstore.From("18446744073709551616_000000"),
		"ToOffset(bad)":    eventstore.ToOffset("00000000000000000001_00001"),
		"ToOffset(Now)":    eventstore.ToOffset(eventstore.Now),
		"ToOffset(CRLF)":   eventstore.ToOffset("\r\n"),
		"ToOffset(commas)": eventstore.ToOffset(","),
		"From(empty)":      eventstore.From(""),
		"ToOffset(empty)":  eventstore.ToOffset(""),
	}
	for _, r := range reads {
		for label, o := range opts {
			err := firstError(t, r.seq(o))
			if !errors.Is(err, eventstore.ErrInvalidOffset) {
				t.Errorf("%s with %s: %v, want ErrInvalidOffset", r.name, label, err)
			}
		}
	}
}

// offsetFixture is a log of interleaved streams and multi-event commits,
// with what Append reported for each event in log order.
type offsetFixture struct {
	store   *eventstore.Store
	streams []string
	log     []eventstore.Event // Stream, Version, Offset and Data filled in from the appends
}

// commitSizes is the number of events of each commit of the fixture, the
// stream chosen round-robin; the categories are "acct" and "other".
var commitSizes = []int{1, 3, 2, 1, 4, 1, 2, 3, 1, 1, 5, 2}

func newOffsetFixture(t *testing.T) *offsetFixture {
	t.Helper()
	s, _ := openStore(t)
	f := &offsetFixture{store: s, streams: []string{"acct/1", "other/1", "acct/2", "acct"}}
	ctx := context.Background()
	versions := map[string]uint64{}
	for i, n := range commitSizes {
		stream := f.streams[i%len(f.streams)]
		events := evs(n, len(f.log))
		res, err := s.Append(ctx, stream, events)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Offsets) != n || res.Offset() != res.Offsets[n-1] {
			t.Fatalf("append %d events: offsets %q, Offset() %q", n, res.Offsets, res.Offset())
		}
		for j, o := range res.Offsets {
			versions[stream]++
			f.log = append(f.log, eventstore.Event{Stream: stream, Version: versions[stream], Offset: o, Data: events[j].Data})
		}
	}
	return f
}

// after returns the fixture's events after offset o that keep selects.
func (f *offsetFixture) after(o eventstore.Offset, keep func(eventstore.Event) bool) []eventstore.Event {
	return keepAfter(o, keep)(f.log)
}

// TestOffsetsOrderedAndURLSafe checks the offsets Append hands out: valid,
// strictly increasing as strings in log order across streams and inside
// commits, free of URL syntax, and the same ones reads report.
func TestOffsetsOrderedAndURLSafe(t *testing.T) {
	f := newOffsetFixture(t)
	prev := eventstore.Offset("")
	for _, e := range f.log {
		if e.Offset <= prev {
			t.Errorf("offset %q of %s/%d is not after %q", e.Offset, e.Stream, e.Version, prev)
		}
		prev = e.Offset
		if strings.ContainsAny(string(e.Offset), ",&=?/ %#+") {
			t.Errorf("offset %q has URL syntax in it", e.Offset)
		}
		if o, err := eventstore.ParseOffset(string(e.Offset)); err != nil || o != e.Offset {
			t.Errorf("ParseOffset(%q) = %q, %v", e.Offset, o, err)
		}
	}
	if eventstore.Start >= f.log[0].Offset {
		t.Errorf("Start %q does not sort before the first offset %q", eventstore.Start, f.log[0].Offset)
	}
	ctx := context.Background()
	sameEvents(t, "read all", collect(t, f.store.ReadAll(ctx)), f.log)
	for _, name := range f.streams {
		sameEvents(t, "read "+name, collect(t, f.store.Read(ctx, name)), f.after(eventstore.Start, inStream(name)))
		h, err := f.store.Head(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		want := f.after(eventstore.Start, inStream(name))
		if last := want[len(want)-1]; h.Version != last.Version || h.Offset != last.Offset {
			t.Errorf("head of %s: version %d offset %s, want %d %s", name, h.Version, h.Offset, last.Version, last.Offset)
		}
	}
}

// TestReadFromEveryOffset reads each stream From every offset in the log
// (its own events' offsets, other streams' offsets, offsets inside
// multi-event commits) and checks that exactly the stream's later events
// come back: nothing twice, nothing skipped.
func TestReadFromEveryOffset(t *testing.T) {
	f := newOffsetFixture(t)
	ctx := context.Background()
	froms := []eventstore.Offset{eventstore.Start}
	for _, e := range f.log {
		froms = append(froms, e.Offset)
	}
	for _, from := range froms {
		for _, name := range f.streams {
			got := collect(t, f.store.Read(ctx, name, eventstore.From(from)))
			sameEvents(t, fmt.Sprintf("read %s from %s", name, from), got, f.after(from, inStream(name)))
		}
	}
}

// TestReadLogFromOffsets reads the whole log and a category From offsets
// spread through the log, including offsets inside multi-event commits.
func TestReadLogFromOffsets(t *testing.T) {
	f := newOffsetFixture(t)
	ctx := context.Background()
	froms := []eventstore.Offset{eventstore.Start}
	for i, e := range f.log {
		if i%3 == 1 || i == len(f.log)-1 {
			froms = append(froms, e.Offset)
		}
	}
	for _, from := range froms {
		got := collect(t, f.store.ReadAll(ctx, eventstore.From(from)))
		sameEvents(t, fmt.Sprintf("read all from %s", from), got, f.after(from, everything))
		got = collect(t, f.store.ReadCategory(ctx, "acct", eventstore.From(from)))
		sameEvents(t, fmt.Sprintf("read category acct from %s", from), got, f.after(from, inCategory("acct")))
	}
}

// TestReadToOffset bounds reads of a stream, a category and the log with
// ToOffset at every event: each read ends with that event.
func TestReadToOffset(t *testing.T) {
	f := newOffsetFixture(t)
	ctx := context.Background()
	for i, e := range f.log {
		upTo := func(keep func(eventstore.Event) bool) []eventstore.Event {
			var out []eventstore.Event
			for _, x := range f.log[:i+1] {
				if keep(x) {
					out = append(out, x)
				}
			}
			return out
		}
		to := eventstore.ToOffset(e.Offset)
		sameEvents(t, "read "+e.Stream+" to "+string(e.Offset), collect(t, f.store.Read(ctx, e.Stream, to)), upTo(inStream(e.Stream)))
		if i%4 != 0 && i != len(f.log)-1 {
			continue // the log reads cost a consumer each
		}
		sameEvents(t, "read all to "+string(e.Offset), collect(t, f.store.ReadAll(ctx, to)), upTo(everything))
		sameEvents(t, "read category acct to "+string(e.Offset), collect(t, f.store.ReadCategory(ctx, "acct", to)), upTo(inCategory("acct")))
	}
}

// TestReadFromNow checks that reads From(Now) return nothing.
func TestReadFromNow(t *testing.T) {
	f := newOffsetFixture(t)
	ctx := context.Background()
	if got := collect(t, f.store.Read(ctx, "acct/1", eventstore.From(eventstore.Now))); len(got) != 0 {
		t.Errorf("read From(Now): %s", describe(got))
	}
	if got := collect(t, f.store.ReadAll(ctx, eventstore.From(eventstore.Now))); len(got) != 0 {
		t.Errorf("read all From(Now): %s", describe(got))
	}
	if got := collect(t, f.store.ReadCategory(ctx, "acct", eventstore.From(eventstore.Now))); len(got) != 0 {
		t.Errorf("read category From(Now): %s", describe(got))
	}
}
