package eventstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestBoundedReadOutlastsALaggingReplica: a bounded read of the log (the
// log part of ReadAll and ReadCategory, the tests' ReadLog) goes up to the
// log's last sequence as its leader gave it when the read began, but its
// consumer counts what the consumer's own replica holds, and an R1
// consumer is placed on any replica of a replicated log. One that lags
// reports nothing pending short of the bound; the read took that as its end
// and silently missed the log's last commits (in a cluster failover test the
// log read 39,689 events where both indexes held 39,695).
//
// The lagging replica is shown on one real server: the store takes its log
// for replicated, and the read's bound is past what the server holds when
// the consumer delivers its last message (so that message says nothing is
// pending), the rest being stored just after, as a replica catching up
// would get it. The read must deliver it. A filtered read whose subjects
// have nothing more up to the bound ends there, without waiting.
func TestBoundedReadOutlastsALaggingReplica(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for i := range 10 {
		if _, err := s.Append(ctx, fmt.Sprintf("acct/%d", i%2), []Event{{Type: "Numbered", Data: []byte(`{}`)}}); err != nil {
			t.Fatal(err)
		}
	}
	last, err := s.logLastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.replicas = 3 // consumers may sit on a replica that lags the leader

	read := func(spec consumeSpec, behind func() error) (seqs []uint64) {
		t.Helper()
		caught := false
		err := s.consume(ctx, spec, func(m jetstream.Msg, meta *jetstream.MsgMetadata) error {
			seqs = append(seqs, meta.Sequence.Stream)
			if meta.NumPending == 0 && !caught {
				// What the leader held when the read began and this
				// consumer's replica did not have yet.
				caught = true
				return behind()
			}
			return nil
		})
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return seqs
	}
	appendTo := func(stream string, n int) func() error {
		return func() error {
			for range n {
				if _, err := s.Append(ctx, stream, []Event{{Type: "Numbered", Data: []byte(`{}`)}}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	want := func(from, to uint64) []uint64 {
		var w []uint64
		for q := from; q <= to; q++ {
			w = append(w, q)
		}
		return w
	}

	// The whole log: three commits past what the consumer's replica held.
	got := read(consumeSpec{startSeq: 1, upTo: last + 3, bounded: true}, appendTo("other/1", 3))
	if fmt.Sprint(got) != fmt.Sprint(want(1, last+3)) {
		t.Errorf("bounded read of the log up to %d delivered %v, want every sequence from 1", last+3, got)
	}

	// A category: two more of its commits, around another stream's,
	// past what the consumer's replica held after the category's tenth.
	filters, err := categoryFilters(s.prefix, "acct")
	if err != nil {
		t.Fatal(err)
	}
	mid := last + 3
	got = read(consumeSpec{filters: filters, startSeq: 1, upTo: mid + 3, bounded: true}, func() error {
		if err := appendTo("acct/9", 1)(); err != nil {
			return err
		}
		if err := appendTo("other/1", 1)(); err != nil {
			return err
		}
		return appendTo("acct/9", 1)()
	})
	inCategory := append(want(1, last), mid+1, mid+3)
	if fmt.Sprint(got) != fmt.Sprint(inCategory) {
		t.Errorf("bounded read of category acct up to %d delivered %v, want %v", mid+3, got, inCategory)
	}

	// A category whose commits end before the bound: the read ends at its
	// last one, though the consumer delivers nothing up to the bound.
	if err := appendTo("other/1", 2)(); err != nil {
		t.Fatal(err)
	}
	end, err := s.logLastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []uint64, 1)
	go func() {
		var seqs []uint64
		_ = s.consume(ctx, consumeSpec{filters: filters, startSeq: 1, upTo: end, bounded: true},
			func(m jetstream.Msg, meta *jetstream.MsgMetadata) error {
				seqs = append(seqs, meta.Sequence.Stream)
				return nil
			})
		done <- seqs
	}()
	select {
	case got := <-done:
		if fmt.Sprint(got) != fmt.Sprint(inCategory) {
			t.Errorf("bounded read of category acct up to %d delivered %v, want %v", end, got, inCategory)
		}
	case <-ctx.Done():
		t.Fatal("a bounded read of a category with nothing more up to its bound did not end")
	}
}
