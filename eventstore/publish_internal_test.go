package eventstore

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestParseAck: the usual acknowledgement is read directly, every other
// form through encoding/json, and nothing that is not an acknowledgement
// of a commit stored in the log passes for one.
func TestParseAck(t *testing.T) {
	s := &Store{jsName: "rewind", ackPrefix: []byte(`{"stream":"rewind","seq":`)}
	for _, tc := range []struct {
		ack     string
		seq     uint64
		wrong   uint64 // a *wrongLastError with this actual sequence
		apiCode jetstream.ErrorCode
		err     string
	}{
		{ack: `{"stream":"rewind","seq":42}`, seq: 42},
		{ack: `{"stream":"rewind","seq":18446744073709551615}`, seq: 1<<64 - 1},
		{ack: `{"stream":"rewind","domain":"hub","seq":7}`, seq: 7},
		{ack: `{"stream":"rewind","seq":7,"duplicate":true}`, seq: 7},
		{ack: `{"seq":9,"stream":"rewind"}`, seq: 9},
		{ack: `{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 12"},"stream":"rewind","seq":0}`, wrong: 12},
		{ack: `{"error":{"code":400,"err_code":10164,"description":"wrong last sequence"},"stream":"rewind","seq":0}`, wrong: 0},
		{ack: `{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"}}`, apiCode: 10077},
		{ack: `{"stream":"rewind","seq":18446744073709551616}`, err: "unreadable"},
		{ack: `{"stream":"rewind","seq":0}`, err: "unexpected"},
		{ack: `{"stream":"rewind","seq":-3}`, err: "unreadable"},
		{ack: `{"stream":"other","seq":5}`, err: "unexpected"},
		{ack: `{"stream":"rewind","seq":5`, err: "unreadable"},
		{ack: `{"stream":"rewind","seq":}`, err: "unreadable"},
		{ack: `{}`, err: "unexpected"},
		{ack: ``, err: "unreadable"},
		{ack: `+OK`, err: "unreadable"},
	} {
		seq, err := s.parseAck([]byte(tc.ack))
		var wrong *wrongLastError
		var api *jetstream.APIError
		switch {
		case tc.seq != 0:
			if err != nil || seq != tc.seq {
				t.Errorf("%s: %d, %v; want %d", tc.ack, seq, err, tc.seq)
			}
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %d, %v; want an error saying %q", tc.ack, seq, err, tc.err)
			}
		case tc.apiCode != 0:
			if !errors.As(err, &api) || api.ErrorCode != tc.apiCode {
				t.Errorf("%s: %v; want the server's error %d", tc.ack, err, tc.apiCode)
			}
		default:
			if !errors.As(err, &wrong) || wrong.actual != tc.wrong {
				t.Errorf("%s: %v; want wrong last sequence %d", tc.ack, err, tc.wrong)
			}
		}
	}
	// The usual acknowledgement takes the direct path: encoding/json
	// would allocate.
	usual := []byte(`{"stream":"rewind","seq":42}`)
	if n := testing.AllocsPerRun(100, func() { _, _ = s.parseAck(usual) }); n != 0 {
		t.Errorf("the usual acknowledgement took %v allocations to read, want 0", n)
	}
}

// TestPublishContexts: an append stores its commit whatever the context:
// one that never ends, one with a deadline, one that can only be
// cancelled; and a context already done stores nothing.
func TestPublishContexts(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	deadline, cancel1 := context.WithTimeout(context.Background(), time.Minute)
	defer cancel1()
	cancelable, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	for i, ctx := range []context.Context{context.Background(), deadline, cancelable} {
		res, err := s.Append(ctx, "ctx/1", []Event{{Type: "T"}}, ExpectVersion(uint64(i)))
		if err != nil || res.Version != uint64(i+1) {
			t.Fatalf("append %d: %+v, %v", i, res, err)
		}
	}
	done, cancel3 := context.WithCancel(context.Background())
	cancel3()
	if _, err := s.Append(done, "ctx/1", []Event{{Type: "T"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("append with a done context: %v, want context.Canceled", err)
	}
	h, err := s.Head(context.Background(), "ctx/1")
	if err != nil || h.Version != 3 {
		t.Errorf("head %+v, %v; want version 3", h, err)
	}
}

// TestPublishNoResponders: a publish nothing answers (no stream takes the
// subject: what a cluster answers while the log elects a leader) is tried
// again until its ctx's deadline, then fails with ErrUnavailable; a context that ends while it waits to retry ends it
// at once.
func TestPublishNoResponders(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, _, err = s.publish(ctx, "nostream.x", []byte("x"), 0, 0)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("publish to no stream: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("gave up after %v, before its ctx's deadline", d)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start = time.Now()
	if _, _, err := s.publish(ctx, "nostream.x", []byte("x"), 0, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("publish cancelled while retrying: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d >= 5*time.Second {
		t.Errorf("cancelled publish returned after %v", d)
	}
}

// TestOwnCommitAfter: a commit an earlier try stored, whose acknowledgement
// was lost, is recognised by its bytes whatever the store time the later
// try stamped, and the stored one's sequence and store time are returned
// with body set to what was stored; another commit is not taken for it.
func TestOwnCommitAfter(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	subj, _ := subjectFor(s.prefix, "own/1")
	body := encodeCommitFlags(1, 0, nil, "", 0, []Event{{Type: "T", Data: []byte("x")}})
	seq, stamp, err := s.publish(ctx, subj, body, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	retried := append([]byte(nil), body...)
	setStoredAt(retried, stamp+12345) // the later try's own store time
	got, gotStamp, found, err := s.ownCommitAfter(ctx, time.Now().Add(5*time.Second), subj, 0, retried)
	if err != nil || !found || got != seq || gotStamp != stamp || !bytes.Equal(retried, body) {
		t.Errorf("own commit: seq %d stamp %d found %v err %v; want seq %d stamp %d and the stored bytes", got, gotStamp, found, err, seq, stamp)
	}
	other := encodeCommitFlags(1, 0, nil, "", 0, []Event{{Type: "T", Data: []byte("y")}})
	if _, _, found, err := s.ownCommitAfter(ctx, time.Now().Add(5*time.Second), subj, 0, other); err != nil || found {
		t.Errorf("another commit taken for ours: found %v, err %v", found, err)
	}
}
