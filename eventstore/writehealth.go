package eventstore

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// A store whose appends go unanswered is not ready, even when the server
// answers everything else: a NATS server takes a failed write to its files
// (a full disk, the process out of file descriptors) as critical, and the
// log then leaves every append unanswered until the server restarts, while
// requests for the log's position, which Ready asks, are answered as
// before. The embedded server's own health check says so (Ready asks it);
// a server of one's own is asked nothing more, so the store remembers
// whether its latest appends went unanswered, and Ready says so: a load
// balancer then sends writes elsewhere, and the operator learns why.
//
// A server out of storage answers, but refuses every append until an
// operator acts (ErrStorageFull): Ready says so too, whatever the server.

// unansweredFor is how long a publish must have gone without any answer
// to count as unanswered: a caller's short deadline on a busy store is
// not a store that cannot write.
const unansweredFor = 5 * time.Second

// notReadyFor is how long after the latest unanswered append Ready keeps
// saying so, when none has been answered since.
const notReadyFor = time.Minute

// writeHealth is what the store knows of its latest appends.
type writeHealth struct {
	mu       sync.Mutex
	since    time.Time // the first unanswered append since the last answered one; zero when none
	last     time.Time // the latest unanswered one
	n        int       // unanswered or refused for storage since the last answered one
	lastErr  error
	full     bool // the latest was refused for want of storage
	fullSeen bool // one was, since the last answered one
}

// answered records an append the server answered (stored, or refused).
func (w *writeHealth) answered() {
	w.mu.Lock()
	if w.n > 0 {
		w.since, w.last, w.n, w.lastErr, w.full = time.Time{}, time.Time{}, 0, nil, false
	}
	w.mu.Unlock()
}

// unanswered records an append that went unanswered, and reports whether
// it is the first since the last answered one.
func (w *writeHealth) unanswered(now time.Time, err error) (first bool) {
	return w.failed(now, err, false)
}

// refusedFull records an append the server refused for want of storage,
// and reports whether it is the first such refusal since the last
// answered append.
func (w *writeHealth) refusedFull(now time.Time, err error) (first bool) {
	return w.failed(now, err, true)
}

func (w *writeHealth) failed(now time.Time, err error, full bool) (first bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == 0 {
		w.since, w.fullSeen = now, false
	}
	w.n++
	w.last, w.lastErr, w.full = now, err, full
	if full {
		first = !w.fullSeen
		w.fullSeen = true
		return first
	}
	return w.n == 1
}

// check returns an error when appends have failed within notReadyFor and
// none has been answered since: wrapping ErrStorageFull when the latest
// was refused for want of storage, ErrUnavailable when it went unanswered.
// unanswered says whether unanswered appends count (a replicated log's
// leader steps down rather than leave them unanswered, and an election
// leaves appends unanswered for a while: not a store to take out).
func (w *writeHealth) check(now time.Time, unanswered bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == 0 || now.Sub(w.last) > notReadyFor || (!w.full && !unanswered) {
		return nil
	}
	if w.full {
		return fmt.Errorf("%w: the NATS server refused %d appends in a row for want of storage since %s, the last %s ago (%v); none has been stored since",
			ErrStorageFull, w.n, w.since.UTC().Format(time.RFC3339), now.Sub(w.last).Round(time.Second), w.lastErr)
	}
	return fmt.Errorf("%w: %d appends in a row went unanswered since %s, the last %s ago (%v); none has been stored since",
		ErrUnavailable, w.n, w.since.UTC().Format(time.RFC3339), now.Sub(w.last).Round(time.Second), w.lastErr)
}

// noteStorageFull records an append the server refused for want of
// storage, logs the first of a run, and returns the append's error.
func (s *Store) noteStorageFull(err error) error {
	if s.writes.refusedFull(time.Now(), err) {
		s.log.Error("eventstore: the NATS server refuses appends: it is out of storage; the store reports not ready until an append is stored again",
			slog.String("err", err.Error()),
			slog.String("what to do", "free disk space or raise WithStorageLimit, then reopen the store (the embedded server's default limit is three quarters of the disk space free when it opened, plus what the log held); on a server of one's own, raise its max_file_store"))
	}
	return fmt.Errorf("%w: the NATS server has no storage left for the log: %w", ErrStorageFull, err)
}

// noteUnanswered records a publish that went without an answer since
// began, when it went long enough to count, and logs the first of a run.
func (s *Store) noteUnanswered(began time.Time, err error) {
	now := time.Now()
	if now.Sub(began) < unansweredFor {
		return
	}
	if s.writes.unanswered(now, err) {
		s.log.Error("eventstore: an append went unanswered; the store reports not ready until appends are answered again",
			slog.String("err", err.Error()),
			slog.String("look for", "a critical write error in the NATS server's log (a full disk, the process out of file descriptors): its log then takes no append until it restarts"))
	}
}

// embeddedStorage returns the bytes the embedded server's JetStream holds
// and its storage limit (0 when it cannot tell).
func (s *Store) embeddedStorage() (used, limit int64) {
	if s.srv == nil {
		return 0, 0
	}
	cfg := s.srv.JetStreamConfig()
	if cfg == nil || cfg.MaxStore <= 0 {
		return 0, 0
	}
	return int64(s.srv.GlobalAccount().JetStreamUsage().Store), cfg.MaxStore
}
