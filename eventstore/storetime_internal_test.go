package eventstore

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// noTimes is a storeTimes that fails the test when called.
type noTimes struct{ t *testing.T }

func (n noTimes) storeTime(name string, seq uint64) (time.Time, error) {
	n.t.Errorf("store time of %s at %d asked for: it should be in the index", name, seq)
	return time.Time{}, fmt.Errorf("not expected")
}

// pendingTimes counts the commits of a stream whose store time the index
// does not hold yet.
func pendingTimes(t *testing.T, s *Store, name string) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	err := s.withIndex(ctx, s.lastAcked.Load(), func(x *index) error {
		return x.readStream(name, &bounds{}, timeSourceFunc(func(string, uint64) (time.Time, error) {
			n++
			return time.Unix(1, 0), nil
		}), func(Event, position) bool { return true })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

type timeSourceFunc func(name string, seq uint64) (time.Time, error)

func (f timeSourceFunc) storeTime(name string, seq uint64) (time.Time, error) { return f(name, seq) }

// TestStoreTimesFetchedOnce: a sole writer's appends enter the index with
// their store time pending (no reading back of the log while appending);
// the first read fetches the times in batches from the log, gives the
// server's times (as ReadAll does), and writes them to the index, where
// the next read finds them; pending times survive a reopen.
func TestStoreTimesFetchedOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	// The tailer's catch-up pass at open would apply, with their times,
	// whatever the appends below stored before it asked for the log's end:
	// let it take its kick and find the log empty first.
	s.idxMu.Lock()
	x := s.idx
	s.idxMu.Unlock()
	for len(x.kick) > 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	const commits = directGetBatch + 44 // more than one batch
	for i := range commits {
		for _, name := range []string{"t/1", "t/other"} {
			if _, err := s.Append(ctx, name, []Event{{Type: "x", Data: fmt.Appendf(nil, `{"i":%d}`, i)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := pendingTimes(t, s, "t/1"); n < commits-5 {
		t.Errorf("%d commits pending a store time after appending, want (nearly) all %d", n, commits)
	}
	// Reopen: what is pending stays pending, and is still answered right.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(ctx, dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	want := map[uint64]time.Time{}
	for e, err := range s.ReadAll(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Stream == "t/1" {
			want[e.Version] = e.StoredAt
		}
	}
	check := func(what string) {
		t.Helper()
		n := 0
		for e, err := range s.Read(ctx, "t/1") {
			if err != nil {
				t.Fatal(err)
			}
			n++
			if w := want[e.Version]; !e.StoredAt.Equal(w) {
				t.Fatalf("%s: version %d stored at %v, the log says %v", what, e.Version, e.StoredAt, w)
			}
		}
		if n != commits {
			t.Fatalf("%s: %d events, want %d", what, n, commits)
		}
	}
	check("first read")
	deadline := time.Now().Add(10 * time.Second)
	for pendingTimes(t, s, "t/1") > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d store times still pending in the index after a read", pendingTimes(t, s, "t/1"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	check("second read")
	// The index answers on its own now.
	err = s.withIndex(ctx, s.lastAcked.Load(), func(x *index) error {
		return x.readStream("t/1", &bounds{}, noTimes{t}, func(Event, position) bool { return true })
	})
	if err != nil {
		t.Fatal(err)
	}
}
