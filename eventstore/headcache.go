package eventstore

import "sync"

// headCache remembers what the store knows of recently appended streams,
// bounded in number, so that an append is checked without reading the
// index; an evicted stream is read back from the index.
//
// It keeps two generations of up to half the bound each: streams are put
// into the current one, and when it is full it becomes the old one and the
// old one is dropped whole. A stream found in the old generation moves to
// the current one, so a stream appended to now and then stays. Dropping a
// generation costs nothing per stream: evicting one arbitrary entry per new
// stream from a single map (starting an iteration of it and deleting a
// key) was 3.5 % of the CPU of appends to a million new streams, and
// evicting a batch at a time left the deletions in the few parts of the
// map the iteration visited while inserts went everywhere, so the map kept
// splitting: 16 MB for 100,000 streams instead of 3.
// A bound of n keeps up to n streams (two for a bound of one).
type headCache struct {
	mu       sync.Mutex
	half     int // each generation's bound, n/2 (at least 1); 0: no cache
	cur, old map[string]*streamState
}

func newHeadCache(n int) *headCache {
	h := max(n/2, 1)
	if n == 0 {
		h = 0
	}
	return &headCache{half: h, cur: make(map[string]*streamState)}
}

func (c *headCache) get(name string) (*streamState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.cur[name]; ok {
		return st, true
	}
	// A stream found in the old generation moves to the current one. Its
	// entry in the old one is left as it is: the current generation is
	// looked in first, and the old one goes whole at the next rotation.
	st, ok := c.old[name]
	if ok {
		c.putLocked(name, st)
	}
	return st, ok
}

func (c *headCache) put(name string, st *streamState) {
	if c.half == 0 {
		return
	}
	c.mu.Lock()
	c.putLocked(name, st) // an older entry in the old generation is never looked at again
	c.mu.Unlock()
}

func (c *headCache) putLocked(name string, st *streamState) {
	if _, ok := c.cur[name]; !ok && len(c.cur) >= c.half {
		c.old, c.cur = c.cur, make(map[string]*streamState, c.half)
	}
	c.cur[name] = st
}

func (c *headCache) drop(name string) {
	c.mu.Lock()
	delete(c.cur, name)
	delete(c.old, name)
	c.mu.Unlock()
}

// len is the number of streams cached.
func (c *headCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}
