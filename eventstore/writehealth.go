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

// unansweredFor is how long a publish must have gone without any answer
// to count as unanswered: a caller's short deadline on a busy store is
// not a store that cannot write.
const unansweredFor = 5 * time.Second

// notReadyFor is how long after the latest unanswered append Ready keeps
// saying so, when none has been answered since.
const notReadyFor = time.Minute

// writeHealth is what the store knows of its latest appends.
type writeHealth struct {
	mu      sync.Mutex
	since   time.Time // the first unanswered append since the last answered one; zero when none
	last    time.Time // the latest unanswered one
	n       int       // unanswered since the last answered one
	lastErr error
}

// answered records an append the server answered (stored, or refused).
func (w *writeHealth) answered() {
	w.mu.Lock()
	if w.n > 0 {
		w.since, w.last, w.n, w.lastErr = time.Time{}, time.Time{}, 0, nil
	}
	w.mu.Unlock()
}

// unanswered records an append that went unanswered, and reports whether
// it is the first since the last answered one.
func (w *writeHealth) unanswered(now time.Time, err error) (first bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == 0 {
		w.since = now
	}
	w.n++
	w.last, w.lastErr = now, err
	return w.n == 1
}

// check returns an error wrapping ErrUnavailable when appends have gone
// unanswered within notReadyFor and none has been answered since.
func (w *writeHealth) check(now time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == 0 || now.Sub(w.last) > notReadyFor {
		return nil
	}
	return fmt.Errorf("%w: %d appends in a row went unanswered since %s, the last %s ago (%v); none has been stored since",
		ErrUnavailable, w.n, w.since.UTC().Format(time.RFC3339), now.Sub(w.last).Round(time.Second), w.lastErr)
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
