package aggregate

import (
	"sync"
)

// A state that has outgrown one message cannot be snapshotted, and trying
// is not free: a load encodes the state at every snapshot mark it replays
// through, and with no snapshot saved every load replays the whole stream
// and so pays at each mark, each time, for a write the store refuses. The
// repository remembers, per stream, the size and version of the state
// refused, and skips the marks until the snapshot could fit: the store
// takes a larger message than that size (a server with a raised limit), or
// the stream has doubled its version since (a state may shrink, but
// rarely; doubling bounds the tries to a few over the stream's life while
// letting a shrunken state be snapshotted again). It logs the first
// refusal of a stream, not every mark's.

// maxOversized bounds the streams remembered; past it the memory starts
// again (the cost is one more refused try per stream).
const maxOversized = 10_000

// oversized is what the repository remembers of states too large to
// snapshot.
type oversized struct {
	mu       sync.Mutex
	byStream map[string]oversize
}

type oversize struct {
	size    int    // the bytes refused (encoded state and tag)
	version uint64 // the version of the state refused
}

// skip reports whether a snapshot of stream at version should not be
// tried, the store taking at most limit bytes.
func (o *oversized) skip(stream string, version uint64, limit int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	big, ok := o.byStream[stream]
	return ok && big.size > limit && version < 2*big.version
}

// refused remembers that a snapshot of stream at version, of size bytes,
// was refused as too large. It reports whether the stream was not known
// for it yet (the refusal worth a log line).
func (o *oversized) refused(stream string, version uint64, size int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, known := o.byStream[stream]
	if o.byStream == nil || (!known && len(o.byStream) >= maxOversized) {
		o.byStream = make(map[string]oversize)
	}
	o.byStream[stream] = oversize{size: size, version: version}
	return !known
}

// saved forgets stream when a snapshot of it at version fit, unless the
// version is before the one refused (an older state, smaller, written
// after the refusal: the writer runs behind the loads).
func (o *oversized) saved(stream string, version uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if big, ok := o.byStream[stream]; ok && version >= big.version {
		delete(o.byStream, stream)
	}
}
