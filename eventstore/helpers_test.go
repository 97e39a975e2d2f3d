package eventstore_test

import (
	"context"
	"fmt"
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
