package eventstore

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestDeletesPurgeIsCompleted: a delete whose tombstone is in the log but
// whose purge never ran (its process died between the two, or the purge
// failed) is purged later: by the tailer that meets a tombstone it did not
// enter itself, and, for one the index entered from the delete's own
// record, by the purge recorded with it in the index, in the same process
// or in the next one to open the store. The deleted stream's messages
// leave the log and no read shows its events.
func TestDeletesPurgeIsCompleted(t *testing.T) {
	ctx := context.Background()
	for _, indexed := range []bool{false, true} {
		dir := t.TempDir()
		s, err := Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, "dc/1", []Event{{Type: "A"}, {Type: "B"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, "dc/1", []Event{{Type: "C"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, "other/1", []Event{{Type: "D"}}); err != nil {
			t.Fatal(err)
		}
		subj, err := subjectFor(s.prefix, "dc/1")
		if err != nil {
			t.Fatal(err)
		}
		if indexed {
			// No purge in this process: what the index records is
			// made by the next one.
			s.idxMu.Lock()
			s.tailer.stop()
			s.idxMu.Unlock()
		}
		// DeleteStream's steps up to its purge, and no purge.
		body := tombstoneBody()
		seq, stamp, err := s.publish(ctx, subj, body, 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		if indexed {
			s.indexAppend(indexRec{name: "dc/1", seq: seq, stored: stamp, body: body, flags: flagDeleted})
		}
		s.noteAcked(seq) // the sole writer's tailer fetches what its appends did not enter
		count := func(s *Store) uint64 {
			info, err := s.logStream.Info(ctx, jetstream.WithSubjectFilter(subj))
			if err != nil {
				t.Fatal(err)
			}
			return info.State.Subjects[subj]
		}
		waitPurged := func(s *Store, when string) {
			deadline := time.Now().Add(20 * time.Second)
			for n := count(s); n != 1; n = count(s) {
				if time.Now().After(deadline) {
					t.Fatalf("indexed %v, %s: the log holds %d messages of the deleted stream, want its tombstone alone", indexed, when, n)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		if indexed {
			time.Sleep(100 * time.Millisecond)
			if n := count(s); n != 3 { // its two commits and the tombstone
				t.Fatalf("the purge was made with the tailer stopped: %d messages", n)
			}
		} else {
			waitPurged(s, "same process")
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Started(ctx); err != nil {
			t.Fatal(err)
		}
		waitPurged(s, "after a restart")
		for e, err := range s.ReadAll(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if e.Stream == "dc/1" {
				t.Fatalf("indexed %v: ReadAll shows the deleted stream's event %s v%d", indexed, e.Type, e.Version)
			}
		}
		for e, err := range s.Read(ctx, "dc/1") {
			if err != nil {
				t.Fatal(err)
			}
			t.Fatalf("indexed %v: Read shows the deleted stream's event %s v%d", indexed, e.Type, e.Version)
		}
		// Made and forgotten: nothing is left recorded.
		n := 0
		if err := s.idx.eachPurge(func([]byte, uint64, string) error { n++; return nil }); err != nil || n != 0 {
			t.Fatalf("indexed %v: %d purges still recorded (%v)", indexed, n, err)
		}
		s.Close()
	}
}
