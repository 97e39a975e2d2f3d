package eventstore

import "sync"

// headCache remembers what the store knows of recently appended streams,
// bounded in number, so that an append is checked without reading the
// index; an evicted stream is read back from the index.
type headCache struct {
	mu  sync.Mutex
	max int
	m   map[string]*streamState
}

func newHeadCache(n int) *headCache { return &headCache{max: n, m: make(map[string]*streamState)} }

// evictBatch is how many entries a full cache drops at once, as a
// fraction of its bound (1/evictBatch of it). Starting an iteration of a
// large map costs as much as a few hundred look-ups, and the keys it
// visits one after the other lie side by side in memory: evicting one
// entry per insertion made the insertion of each new stream (a million
// one-event streams) a few percent of the whole append's CPU.
const evictBatch = 64

func (c *headCache) get(name string) (*streamState, bool) {
	c.mu.Lock()
	st, ok := c.m[name]
	c.mu.Unlock()
	return st, ok
}

func (c *headCache) put(name string, st *streamState) {
	if c.max == 0 {
		return
	}
	c.mu.Lock()
	if _, ok := c.m[name]; !ok && len(c.m) >= c.max {
		c.evictLocked()
	}
	c.m[name] = st
	c.mu.Unlock()
}

// evictLocked drops arbitrary entries, 1/evictBatch of the bound (at
// least one): which streams stay cached does not matter for correctness,
// an evicted one is read back from the index.
func (c *headCache) evictLocked() {
	n := max(c.max/evictBatch, 1)
	for k := range c.m {
		delete(c.m, k)
		if n--; n == 0 {
			return
		}
	}
}

func (c *headCache) drop(name string) {
	c.mu.Lock()
	delete(c.m, name)
	c.mu.Unlock()
}
