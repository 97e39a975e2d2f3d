package eventstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// TestReadAndSubscribeStreams: a list of streams reads and follows, in
// log order, exactly what the log holds for them.
func TestReadAndSubscribeStreams(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	for i := range 20 {
		for _, stream := range []string{"a/1", "a/2", "b/1", "c/x/y"} {
			if _, err := s.Append(ctx, stream, evs(1+i%2, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	list := []string{"a/2", "c/x/y", "a/2"} // a repeat is read once
	keep := func(e eventstore.Event) bool { return e.Stream == "a/2" || e.Stream == "c/x/y" }
	all := collect(t, s.ReadAll(ctx))
	sameEvents(t, "ReadStreams", collect(t, s.ReadStreams(ctx, list)), keepAfter(eventstore.Start, keep)(all))
	from := all[len(all)/2].Offset
	sameEvents(t, "ReadStreams From", collect(t, s.ReadStreams(ctx, list, eventstore.From(from))), keepAfter(from, keep)(all))

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var got []eventstore.Event
	want := len(keepAfter(from, keep)(all)) + 2
	go func() {
		time.Sleep(100 * time.Millisecond)
		_, _ = s.Append(ctx, "b/1", evs(1, 100)) // not in the list
		_, _ = s.Append(ctx, "c/x/y", evs(2, 100))
	}()
	for e, err := range s.SubscribeStreams(sctx, list, eventstore.From(from)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
		if len(got) == want {
			break
		}
	}
	sameEvents(t, "SubscribeStreams", got, keepAfter(from, keep)(collect(t, s.ReadAll(ctx))))

	for _, bad := range [][]string{nil, {"ok/1", "bad//name"}} {
		if err := firstError(t, s.ReadStreams(ctx, bad)); !errors.Is(err, eventstore.ErrInvalidOption) && !errors.Is(err, eventstore.ErrInvalidStreamName) {
			t.Errorf("ReadStreams(%q): %v", bad, err)
		}
	}
}
