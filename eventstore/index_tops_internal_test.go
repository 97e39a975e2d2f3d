package eventstore

import (
	"context"
	"testing"
)

// TestDeletedCommitsAreNotWalked: the commit keys a delete took out of
// the index stay in pebble until a compaction, and an iterator steps over
// each of them; a look for a stream's last commit (the index writer checks
// every commit the tailer brings with one) must not walk those of its
// earlier lives, or a stream deleted again and again makes the writer fall
// behind the log (TestDeleteRacesAppendsAcrossStores stalled so).
func TestDeletedCommitsAreNotWalked(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const old = 1500 // commits of the stream's first life
	for i := 0; i < old; i++ {
		if _, err := s.Append(ctx, "dt/1", []Event{{Type: "Old"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteStream(ctx, "dt/1"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := s.Append(ctx, "dt/1", []Event{{Type: "New"}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(collectSeq(t, s.Read(ctx, "dt/1"))); n != 2 { // the index holds them
		t.Fatalf("%d events after the delete", n)
	}
	x, ok := s.hold()
	if !ok {
		t.Fatal("closed")
	}
	defer s.release(x)
	it, err := x.commitIter("dt/1")
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if !it.Last() {
		t.Fatal("no commit")
	}
	c, err := decodeIndexedAt(it)
	if err != nil || c.lastVersion() != 2 {
		t.Fatalf("last commit: version %d, %v", c.lastVersion(), err)
	}
	if n := it.Stats().InternalStats.PointCount; n > 10 {
		t.Fatalf("finding the last of 2 commits stepped over %d points (the deleted %d are above them)", n, old)
	}
}

// TestLastCommitAtOrBefore: the stream's last commit at or below any log
// sequence, its newest or one below this process's appends beyond it,
// found by binary search, is the one a walk back through its commits finds.
func TestLastCommitAtOrBefore(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	type stored struct{ seq, last uint64 }
	var commits []stored
	for i := 0; i < 60; i++ {
		res, err := s.Append(ctx, "bs/1", []Event{{Type: "A"}, {Type: "B"}, {Type: "C"}}[:1+i%3])
		if err != nil {
			t.Fatal(err)
		}
		commits = append(commits, stored{offsetSeqOf(res.Offset()), res.Version})
		for j := 0; j < i%4; j++ { // holes in the stream's log sequences
			if _, err := s.Append(ctx, "bs/2", []Event{{Type: "X"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	collectSeq(t, s.Read(ctx, "bs/1")) // the index holds them all
	x, ok := s.hold()
	if !ok {
		t.Fatal("closed")
	}
	defer s.release(x)
	end := commits[len(commits)-1].seq + 2
	for seq := uint64(0); seq <= end; seq++ {
		var want stored
		for _, c := range commits {
			if c.seq <= seq {
				want = c
			}
		}
		c, ok, err := x.lastCommitAtOrBefore("bs/1", seq)
		if err != nil || ok != (want.seq > 0) || ok && (c.seq != want.seq || c.lastVersion() != want.last) {
			t.Fatalf("at or before %d: seq %d version %d (%v, %v), want seq %d version %d",
				seq, c.seq, c.lastVersion(), ok, err, want.seq, want.last)
		}
	}
}
