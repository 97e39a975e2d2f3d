package eventstore

import (
	"math"
	"sync"
	"time"
)

// Store times.
//
// Every commit records its store time, taken from the committing store's
// clock right before the commit is sent to the server, so that a read of
// one stream never has to ask the log when an event was stored. With Open
// the clock is the embedded server's own (it runs in this process); WithClock
// gives the store another one, for tests and for importing a history whose
// times lie in the past.
//
// The time is clamped so that it never goes backwards:
//   - within a store, commits are stamped and handed to the connection in
//     one step under one lock (Store.publish), so the store's commits take
//     their log sequences in the order of their times: in the log they never
//     go backwards, even when the clock does;
//   - within a stream, a commit's time is at least its predecessor's, which
//     the append knows (the server refuses a commit whose predecessor is not
//     the one it was decided on).
//
// With Connect and several writing processes, each stamps with its own
// clock: a stream's times still never go backwards, but in log order the
// commits of two processes can disagree by as much as their clocks do. A
// log read bounded by ToTime ends at the first commit stored after the
// bound, in log order.

// storeClock stamps commits. Its zero value is not usable: see newClock.
type storeClock struct {
	now  func() time.Time
	mu   sync.Mutex
	last int64 // Unix ns of the latest stamp
}

func newClock(now func() time.Time) *storeClock {
	if now == nil {
		now = time.Now
	}
	return &storeClock{now: now}
}

// stamp returns the next store time: now, but never before floor (the
// stream's last store time) nor before the last stamp, and always after
// the Unix epoch (0 means "not recorded" in a commit). The caller orders
// the stamp with the commit's publication (see Store.publish).
func (c *storeClock) stamp(floor int64) int64 {
	t := max(clampedUnixNano(c.now()), floor, 1)
	c.mu.Lock()
	t = max(t, c.last)
	c.last = t
	c.mu.Unlock()
	return t
}

// clampedUnixNano is t.UnixNano, but the nearest int64 for a t that
// int64 nanoseconds cannot hold (UnixNano's result is undefined there:
// 1600 came out as 2184).
func clampedUnixNano(t time.Time) int64 {
	switch {
	case t.Before(minEventTime):
		return math.MinInt64
	case t.After(maxEventTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// observe raises the clock's floor to t, a store time already in the log
// (the log's last commit at open), so that a clock that stepped back while
// the store was closed does not stamp commits before it.
func (c *storeClock) observe(t int64) {
	c.mu.Lock()
	c.last = max(c.last, t)
	c.mu.Unlock()
}
