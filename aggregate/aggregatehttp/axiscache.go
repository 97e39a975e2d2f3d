package aggregatehttp

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/rewindhq/rewind/eventstore"
)

// Bounds of the axis cache.
const (
	// minCachedAxis is the fewest versions an axis must have to be kept:
	// a shorter one reads in well under a millisecond.
	minCachedAxis = 1000
	// maxCachedAxes bounds the versions the cache holds over all its
	// streams (8 bytes each); past it the least recently used go.
	maxCachedAxes = 2_000_000
)

// axisCache keeps the axes of long streams, so that the first request of
// a page for a 10,000-event stream does not read the whole stream for the
// store times the axis shows: a stream's events never change, so an axis
// once read is extended by the events appended since. Each entry
// remembers the offset of its last event: a stream deleted and made again
// has other offsets (the log only grows), and its axis is read anew.
// The zero value is ready to use.
type axisCache struct {
	mu      sync.Mutex
	streams map[string]*axisEntry
	tick    uint64 // the use counter: an entry's used is the tick of its last use
}

type axisEntry struct {
	start  time.Time         // version 1's store time
	ms     []int64           // as Axis.Ms; never written after the entry is made
	last   time.Time         // the store time of the last version
	offset eventstore.Offset // of the last version's event
	used   uint64
}

// get answers the cached axis of stream, or nil.
func (c *axisCache) get(stream string) *axisEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.streams[stream]
	if e != nil {
		c.tick++
		e.used = c.tick
	}
	return e
}

// put keeps e as stream's axis, dropping the least recently used axes
// while the cache holds more than maxCachedAxes versions.
func (c *axisCache) put(stream string, e *axisEntry) {
	if len(e.ms) < minCachedAxis {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.streams == nil {
		c.streams = make(map[string]*axisEntry)
	}
	c.tick++
	e.used = c.tick
	c.streams[stream] = e
	total := 0
	for _, x := range c.streams {
		total += len(x.ms)
	}
	for total > maxCachedAxes {
		var oldest string
		for name, x := range c.streams {
			if oldest == "" || x.used < c.streams[oldest].used {
				oldest = name
			}
		}
		total -= len(c.streams[oldest].ms)
		delete(c.streams, oldest)
	}
}

// axis answers the store time of every version of stream up to its head
// h: from the cache when it holds them, extended by the events after the
// cached ones, or read from the stream.
func (r *Registry) axis(ctx context.Context, stream string, h eventstore.Head) (*Axis, error) {
	if h.Version > maxAxis {
		return nil, nil
	}
	cached := r.axes.get(stream)
	if cached != nil && uint64(len(cached.ms)) == h.Version && cached.offset == h.Offset {
		return cached.public(), nil
	}
	from := uint64(1)
	e := &axisEntry{}
	if cached != nil && uint64(len(cached.ms)) < h.Version {
		// The events after the cached ones, and the last cached one again,
		// to see that it is the same event (not a stream made again).
		from = uint64(len(cached.ms))
		e = &axisEntry{start: cached.start, ms: slices.Clip(cached.ms), last: cached.last, offset: cached.offset}
	}
	extended, err := e.read(ctx, r.store, stream, from, h.Version)
	if err != nil {
		return nil, err
	}
	if !extended {
		e = &axisEntry{}
		if _, err := e.read(ctx, r.store, stream, 1, h.Version); err != nil {
			return nil, err
		}
	}
	r.axes.put(stream, e)
	return e.public(), nil
}

// read adds the times of versions from..to of stream to e. With from > 1
// e holds versions up to from, and read answers false, reading no
// further, when the event at from is not the one e holds (another
// offset).
func (e *axisEntry) read(ctx context.Context, store *eventstore.Store, stream string, from, to uint64) (bool, error) {
	for ev, err := range store.Read(ctx, stream, eventstore.FromVersion(from), eventstore.ToVersion(to)) {
		if err != nil {
			return false, err
		}
		switch {
		case from > 1 && ev.Version == from:
			if ev.Offset != e.offset {
				return false, nil
			}
			continue
		case len(e.ms) == 0:
			e.start = ev.StoredAt
			e.ms = append(e.ms, 0)
		default:
			// The step between the versions' whole milliseconds since
			// start, not the step between their times cut to a
			// millisecond: summed, these give each version's time to
			// the millisecond, where a cut per step drifted (a second
			// behind after 1,500 steps of 0.6 ms).
			e.ms = append(e.ms, ev.StoredAt.Sub(e.start).Milliseconds()-e.last.Sub(e.start).Milliseconds())
		}
		e.last, e.offset = ev.StoredAt, ev.Offset
	}
	return true, nil
}

func (e *axisEntry) public() *Axis {
	if len(e.ms) == 0 {
		return &Axis{Ms: []int64{}}
	}
	return &Axis{Start: formatTime(e.start), Ms: e.ms}
}
