package eventstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestSnapshotOfUnknownTime: a snapshot stored with a zero StoredAt by an
// earlier version (1754 once read back) is never selected by a ToTime
// bound, which it would match at any time; without the bound it loads.
func TestSnapshotOfUnknownTime(t *testing.T) {
	if unknownStoredAt != (time.Time{}).UnixNano() {
		t.Fatalf("unknownStoredAt %d is not the zero time's UnixNano %d", int64(unknownStoredAt), time.Time{}.UnixNano())
	}
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, "old/1", []Event{{Type: "A"}, {Type: "B"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ensureSnapshots(ctx); err != nil {
		t.Fatal(err)
	}
	subj, err := s.snapshotSubject("old/1")
	if err != nil {
		t.Fatal(err)
	}
	// As SaveSnapshot stored a zero StoredAt before it filled it in.
	msg := &nats.Msg{Subject: subj, Data: []byte("{}"), Header: nats.Header{
		hdrSnapVersion:  {"2"},
		hdrSnapStoredAt: {strconv.FormatInt(time.Time{}.UnixNano(), 10)},
		hdrSnapSchema:   {""},
	}}
	if _, err := s.js.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	for _, bound := range []time.Time{time.Now().Add(-time.Hour), time.Now().Add(time.Hour)} {
		for range 2 { // from JetStream, then from the index's copy
			if sn, ok, err := s.LoadSnapshot(ctx, "old/1", ToTime(bound)); err != nil || ok {
				t.Fatalf("LoadSnapshot(ToTime(%v)): %+v, %v, %v; want none", bound, sn, ok, err)
			}
		}
	}
	if sn, ok, err := s.LoadSnapshot(ctx, "old/1"); err != nil || !ok || sn.Version != 2 {
		t.Fatalf("LoadSnapshot without a bound: %+v, %v, %v", sn, ok, err)
	}
}
