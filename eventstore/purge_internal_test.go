package eventstore

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestTailerCompletesADeletesPurge: a tombstone in the log whose purge
// never ran (its process died between the two) is purged by the tailer
// that meets it: the deleted stream's messages leave the log, and no read,
// from the index or from the log, shows its events.
func TestTailerCompletesADeletesPurge(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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
	// The tombstone alone, as DeleteStream stores it, then nothing: no
	// record to the index, no purge (the process died). Acknowledged, so
	// that the sole writer's tailer fetches it.
	seq, _, err := s.publish(ctx, subj, tombstoneBody(), 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.noteAcked(seq)
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := s.logStream.Info(ctx, jetstream.WithSubjectFilter(subj))
		if err != nil {
			t.Fatal(err)
		}
		if n := info.State.Subjects[subj]; n == 1 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the log still holds %d messages of the deleted stream, want its tombstone alone", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for e, err := range s.ReadAll(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Stream == "dc/1" {
			t.Fatalf("ReadAll shows the deleted stream's event %s v%d", e.Type, e.Version)
		}
	}
	for e, err := range s.Read(ctx, "dc/1") {
		if err != nil {
			t.Fatal(err)
		}
		t.Fatalf("Read shows the deleted stream's event %s v%d", e.Type, e.Version)
	}
}
