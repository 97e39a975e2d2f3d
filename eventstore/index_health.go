package eventstore

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// The read index writes its files in the background: pebble flushes
// memtables to tables and compacts them. When a write fails (the disk is
// full, most often), pebble logs nothing itself, reports the error and
// tries the same flush again at once, for ever: hundreds of times a second,
// each report with a stack trace, at half a CPU. So the store
//   - logs the first failure of a run, then at most one line a minute saying
//     how many more came, each as its message alone, never a stack trace;
//   - after a failure, makes each new table wait before it is created, from
//     100 ms doubling to 5 s, until a flush succeeds;
//   - reports the store not ready while the failures go on (Ready);
//   - gives up the final flush at Close when it fails: the index is derived,
//     and the next open applies the log from the last checkpoint the index
//     holds on disk.

// indexHealthLogEvery is how often a run of failures is logged again.
const indexHealthLogEvery = time.Minute

// Bounds of the wait before a new table, after a background write failed.
const (
	noSpacePauseMin = 100 * time.Millisecond
	noSpacePauseMax = 5 * time.Second
)

// indexHealth is what the index's background writes reported.
type indexHealth struct {
	log *slog.Logger

	mu       sync.Mutex
	failing  int // background errors since the last successful flush
	since    time.Time
	last     time.Time
	lastErr  string
	loggedAt time.Time
	unlogged int           // failures since the last line logged
	pause    time.Duration // before a new table; 0 unless a write failed
	stop     chan struct{} // closed by halt: no more pauses
	halted   bool
}

func newIndexHealth(log *slog.Logger) *indexHealth {
	return &indexHealth{log: log, stop: make(chan struct{})}
}

// failed records a background error (pebble's BackgroundError, a flush's
// end with an error).
func (h *indexHealth) failed(err error) {
	now := time.Now()
	msg := firstLine(err)
	h.mu.Lock()
	if h.failing == 0 {
		h.since = now
	}
	h.failing++
	h.last, h.lastErr = now, msg
	logNow := h.loggedAt.IsZero() || now.Sub(h.loggedAt) >= indexHealthLogEvery
	more := h.unlogged
	if logNow {
		h.loggedAt, h.unlogged = now, 0
	} else {
		h.unlogged++
	}
	h.pause = min(max(2*h.pause, noSpacePauseMin), noSpacePauseMax)
	h.mu.Unlock()
	if logNow {
		h.log.Error("eventstore: the read index cannot write its files; reads wait, and the store reports not ready, until it can",
			slog.String("err", msg), slog.Int("failures before this one since the last line", more))
	}
}

// flushed records a flush that wrote its table: the index writes again.
func (h *indexHealth) flushed() {
	h.mu.Lock()
	was := h.failing
	h.failing, h.pause, h.unlogged, h.loggedAt = 0, 0, 0, time.Time{}
	h.mu.Unlock()
	if was > 0 {
		h.log.Info("eventstore: the read index writes its files again", slog.Int("failures", was))
	}
}

// check returns an error while the index's writes fail (within the last
// minute, with no flush written since).
func (h *indexHealth) check(now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failing == 0 || now.Sub(h.last) > indexHealthLogEvery {
		return nil
	}
	return fmt.Errorf("the read index cannot write its files: %d failures since %s, the last %s ago: %s",
		h.failing, h.since.UTC().Format(time.RFC3339), now.Sub(h.last).Round(time.Second), h.lastErr)
}

// failures returns how many background errors were recorded since the
// last successful flush.
func (h *indexHealth) failures() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failing
}

// lastFailure is the message of the latest background error.
func (h *indexHealth) lastFailure() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastErr
}

// paceTable waits before a new table is created while background writes
// fail, until halt.
func (h *indexHealth) paceTable(name string) {
	if !strings.HasSuffix(name, ".sst") {
		return
	}
	h.mu.Lock()
	d, stop := h.pause, h.stop
	h.mu.Unlock()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-stop:
	}
}

// halt ends every pause, for the index's close.
func (h *indexHealth) halt() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.halted {
		h.halted = true
		close(h.stop)
	}
}

// firstLine is err's message up to its first line break: pebble's errors
// carry their details (a stack trace) after it.
func firstLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}
