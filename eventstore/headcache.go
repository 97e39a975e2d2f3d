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
		for k := range c.m { // evict one arbitrary entry
			delete(c.m, k)
			break
		}
	}
	c.m[name] = st
	c.mu.Unlock()
}

func (c *headCache) drop(name string) {
	c.mu.Lock()
	delete(c.m, name)
	c.mu.Unlock()
}
