package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/rewindhq/rewind/eventstore"
)

// listStreams collects Store.Streams, failing on error.
func listStreams(t *testing.T, s *eventstore.Store, category string) []eventstore.StreamInfo {
	t.Helper()
	var out []eventstore.StreamInfo
	for info, err := range s.Streams(context.Background(), category) {
		if err != nil {
			t.Fatalf("Streams(%q): %v", category, err)
		}
		out = append(out, info)
	}
	return out
}

func streamNames(infos []eventstore.StreamInfo) []string {
	names := make([]string, len(infos))
	for i, info := range infos {
		names[i] = info.Name
	}
	return names
}

// TestStreamsList: Streams lists every stream that has events, in name
// order, each with its Head; a category lists its own streams and not
// those of a category that merely begins the same way; deleted streams and
// streams closed without events are not listed; more streams than one page
// of the index are listed whole, and breaking out of the loop ends it.
func TestStreamsList(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	names := []string{"orders/1", "orders/1/x", "orders", "orders-archive/1", "ordersx/1", "orders/2", "a/b/c", "zeta/é"}
	for i, name := range names {
		if _, err := s.Append(ctx, name, evs(1+i%3, i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(ctx, "orders/2", evs(1, 0), eventstore.WithClose()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "orders/gone", evs(2, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream(ctx, "orders/gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "orders/empty-closed", nil, eventstore.WithClose()); err != nil {
		t.Fatal(err)
	}

	all := listStreams(t, s, "")
	want := slices.Clone(names)
	slices.Sort(want)
	if got := streamNames(all); !slices.Equal(got, want) {
		t.Errorf("all streams %q, want %q", got, want)
	}
	for _, info := range all {
		h, err := s.Head(ctx, info.Name)
		if err != nil {
			t.Fatal(err)
		}
		if info.Version != h.Version || info.Offset != h.Offset || !info.StoredAt.Equal(h.StoredAt) || info.Closed != h.Closed {
			t.Errorf("%s: %+v, head %+v", info.Name, info, h)
		}
		if info.Closed != (info.Name == "orders/2") {
			t.Errorf("%s: closed %v", info.Name, info.Closed)
		}
	}
	if got, want := streamNames(listStreams(t, s, "orders")), []string{"orders", "orders/1", "orders/1/x", "orders/2"}; !slices.Equal(got, want) {
		t.Errorf("orders: %q, want %q", got, want)
	}
	if got := listStreams(t, s, "nothing"); len(got) != 0 {
		t.Errorf("nothing: %v", got)
	}
	if got := streamNames(listStreams(t, s, "zeta")); !slices.Equal(got, []string{"zeta/é"}) {
		t.Errorf("zeta: %q", got)
	}

	// A stream made again after its delete is listed again, from version 1.
	if _, err := s.Append(ctx, "orders/gone", evs(1, 9)); err != nil {
		t.Fatal(err)
	}
	if got := listStreams(t, s, "orders"); len(got) != 5 || got[4].Name != "orders/gone" || got[4].Version != 1 {
		t.Errorf("after the stream was made again: %+v", got)
	}

	for _, bad := range []string{"a/b", "bad\x00", "."} {
		var err error
		for _, e := range s.Streams(ctx, bad) {
			err = e
		}
		if !errors.Is(err, eventstore.ErrInvalidStreamName) {
			t.Errorf("Streams(%q): %v", bad, err)
		}
	}
}

// TestStreamsListPages: more streams than a page of the index (256), with
// many events each in some, are listed whole and in order.
func TestStreamsListPages(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t)
	var want []string
	for i := range 600 {
		name := fmt.Sprintf("p/%04d", i)
		want = append(want, name)
		n := 1
		if i%100 == 0 {
			n = 50
		}
		if _, err := s.Append(ctx, name, evs(n, 0)); err != nil {
			t.Fatal(err)
		}
	}
	got := listStreams(t, s, "p")
	if !slices.Equal(streamNames(got), want) {
		t.Fatalf("%d streams listed, want %d", len(got), len(want))
	}
	if got[100].Version != 50 || got[101].Version != 1 {
		t.Errorf("versions %d %d", got[100].Version, got[101].Version)
	}
	n := 0
	for _, err := range s.Streams(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 300 {
			break
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	var err error
	for _, e := range s.Streams(cctx, "") {
		err = e
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
