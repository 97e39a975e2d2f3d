package eventstore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestWriteHealth: unanswered appends make the store not ready for a
// minute after the latest, or until one is answered; a publish that
// waited less than unansweredFor (a caller's short deadline) is not
// counted.
func TestWriteHealth(t *testing.T) {
	var w writeHealth
	t0 := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	if err := w.check(t0, true); err != nil {
		t.Fatalf("a new store: %v", err)
	}
	if !w.unanswered(t0, errors.New("nats: timeout")) || w.unanswered(t0.Add(time.Second), errors.New("nats: timeout")) {
		t.Fatal("only the first of a run is the first")
	}
	err := w.check(t0.Add(30*time.Second), true)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "2 appends in a row went unanswered") {
		t.Fatalf("30 s after: %v", err)
	}
	if err := w.check(t0.Add(2*time.Minute), true); err != nil {
		t.Fatalf("two minutes after the last: %v", err)
	}
	w.unanswered(t0, errors.New("x"))
	w.answered()
	if err := w.check(t0.Add(time.Second), true); err != nil {
		t.Fatalf("after an answered append: %v", err)
	}
	// Unanswered appends do not count where the caller says they do not
	// (a replicated log's election); refusals for storage always do.
	w.unanswered(t0, errors.New("nats: timeout"))
	if err := w.check(t0.Add(time.Second), false); err != nil {
		t.Fatalf("unanswered, not counted: %v", err)
	}
	if !w.refusedFull(t0.Add(2*time.Second), errors.New("insufficient resources")) {
		t.Error("the first refusal for storage after an unanswered append is not logged")
	}
	if w.refusedFull(t0.Add(3*time.Second), errors.New("insufficient resources")) {
		t.Error("the second refusal for storage of a run is logged again")
	}
	err = w.check(t0.Add(4*time.Second), false)
	if !errors.Is(err, ErrStorageFull) || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "for want of storage") {
		t.Fatalf("after refusals for storage: %v", err)
	}
	w.answered()
	if err := w.check(t0.Add(5*time.Second), false); err != nil {
		t.Fatalf("after an answered append: %v", err)
	}
	if !w.refusedFull(t0.Add(6*time.Second), errors.New("insufficient resources")) {
		t.Error("a new run's first refusal for storage is not logged")
	}
}

// TestReadyWhileAppendsGoUnanswered: a store on a server of its own
// (Connect, one replica) whose appends went unanswered says so in Ready
// (a server that failed to write its files answers the log's position,
// which Ready asks, but no append), logs it once, and is ready again once
// an append is stored.
func TestReadyWhileAppendsGoUnanswered(t *testing.T) {
	ctx := t.Context()
	srv, err := Open(ctx, t.TempDir(), WithListen("127.0.0.1", 0))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var logs bytes.Buffer
	s, err := Connect(ctx, srv.ClientURL(), WithIndexDir(t.TempDir()), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ready(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	s.noteUnanswered(time.Now().Add(-time.Second), errors.New("short")) // a caller's short deadline
	if err := s.Ready(ctx, 1000); err != nil {
		t.Fatalf("after a publish that waited 1 s: %v", err)
	}
	for range 3 {
		s.noteUnanswered(time.Now().Add(-10*time.Second), errors.New("publish: no acknowledgement, stored or not: nats: timeout"))
	}
	err = s.Ready(ctx, 1000)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "3 appends in a row went unanswered") {
		t.Fatalf("Ready = %v", err)
	}
	if n := strings.Count(logs.String(), "an append went unanswered"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "critical write error") {
		t.Errorf("the log does not say what to look for:\n%s", logs.String())
	}
	if _, err := s.Append(context.Background(), "health/1", []Event{{Type: "x", Data: []byte(`{}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(ctx, 1000); err != nil {
		t.Fatalf("after an append was stored: %v", err)
	}
}
