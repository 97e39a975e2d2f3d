package eventstore_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/rewindhq/rewind/eventstore"
)

// openStore opens a store on a fresh temp dir and closes it with the test.
func openStore(t testing.TB, opts ...eventstore.Option) (*eventstore.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := eventstore.Open(context.Background(), dir, opts...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// ev makes an event of type typ with data.
func ev(typ string, data string) eventstore.Event {
	return eventstore.Event{Type: typ, Data: []byte(data)}
}

// evs makes n events numbered from start.
func evs(n, start int) []eventstore.Event {
	out := make([]eventstore.Event, n)
	for i := range out {
		out[i] = ev("Numbered", fmt.Sprintf(`{"n":%d}`, start+i))
	}
	return out
}

// collect reads an iterator to the end, failing on error.
func collect(t testing.TB, seq func(func(eventstore.Event, error) bool)) []eventstore.Event {
	t.Helper()
	var out []eventstore.Event
	for e, err := range seq {
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		out = append(out, e)
	}
	return out
}

// firstError returns the error a read or subscription yields before any
// event (failing the test if an event comes first), or nil if it ends
// without one. Subscriptions must be given a ctx that ends.
func firstError(t testing.TB, seq func(func(eventstore.Event, error) bool)) error {
	t.Helper()
	for e, err := range seq {
		if err != nil {
			return err
		}
		t.Errorf("got event %s/%d before the expected error", shorten(e.Stream), e.Version)
		return nil
	}
	return nil
}

// sameEvents compares the identity of events: stream, version, offset and
// data.
func sameEvents(t testing.TB, what string, got, want []eventstore.Event) {
	t.Helper()
	if diff := eventsDiff(got, want); diff != "" {
		t.Errorf("%s: %s", what, diff)
	}
}

// eventsDiff describes the first difference between two event sequences
// (by stream, version, offset and data), or returns "".
func eventsDiff(got, want []eventstore.Event) string {
	for i := 0; i < max(len(got), len(want)); i++ {
		if i >= len(got) {
			return fmt.Sprintf("%d events, want %d: missing from %s/%d (offset %s)", len(got), len(want), want[i].Stream, want[i].Version, want[i].Offset)
		}
		if i >= len(want) {
			return fmt.Sprintf("%d events, want %d: extra from %s/%d (offset %s)", len(got), len(want), got[i].Stream, got[i].Version, got[i].Offset)
		}
		g, w := got[i], want[i]
		if g.Stream != w.Stream || g.Version != w.Version || g.Offset != w.Offset || string(g.Data) != string(w.Data) {
			return fmt.Sprintf("event %d is %s/%d (offset %s, %s), want %s/%d (offset %s, %s)",
				i, g.Stream, g.Version, g.Offset, g.Data, w.Stream, w.Version, w.Offset, w.Data)
		}
	}
	return ""
}

// inStream, inCategory and everything select events, for building the
// expected result of a read.
func inStream(name string) func(eventstore.Event) bool {
	return func(e eventstore.Event) bool { return e.Stream == name }
}

func inCategory(cat string) func(eventstore.Event) bool {
	return func(e eventstore.Event) bool { return e.Stream == cat || strings.HasPrefix(e.Stream, cat+"/") }
}

func everything(eventstore.Event) bool { return true }

// keepAfter selects the events after offset from that keep allows.
func keepAfter(from eventstore.Offset, keep func(eventstore.Event) bool) func([]eventstore.Event) []eventstore.Event {
	return func(all []eventstore.Event) []eventstore.Event {
		var out []eventstore.Event
		for _, e := range all {
			if (from == eventstore.Start || e.Offset > from) && keep(e) {
				out = append(out, e)
			}
		}
		return out
	}
}

// describe lists events briefly for failure messages.
func describe(events []eventstore.Event) string {
	var b strings.Builder
	b.WriteString("[")
	for i, e := range events {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(shorten(e.Stream) + "@" + strconv.FormatUint(e.Version, 10) + ":" + shorten(string(e.Data)))
	}
	b.WriteString("]")
	return b.String()
}

// shorten keeps failure messages readable for very long names.
func shorten(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:20] + "…(" + strconv.FormatUint(uint64(len(s)), 10) + " bytes)"
}
