package eventstore

import "sync"

// headCache remembers what the store knows of recently appended streams,
// bounded in number, so that an append is checked without reading the
// index; an evicted stream is read back from the index.
//
// Streams this store has just created are kept apart from the others, in
// a sixteenth of the bound: a stream appended to once is not yet known to be
// appended to again, and a process that creates many streams of one event
// each (a million, say) would otherwise fill the whole cache with states
// nobody asks for again: about 20 MB of live heap for the default bound,
// which Go's collector lets grow to twice that before it collects. A
// created stream that is appended to again while it is among them joins
// the others; one that left them is read from the index on its next
// append, once, and joins the others then.
//
// Each part keeps two generations of up to half its share: streams are
// put into the current one, and when it is full it becomes the old one
// and the old one is dropped whole. A stream found in the old generation
// moves to the current one, so a stream appended to now and then stays.
// Dropping a generation costs nothing per stream: evicting one arbitrary
// entry per new stream from a single map (starting an iteration of it and
// deleting a key) was 3.5 % of the CPU of appends to a million new
// streams, and evicting a batch at a time left the deletions in the few
// parts of the map the iteration visited while inserts went everywhere,
// so the map kept splitting: 16 MB for 100,000 streams instead of 3.
// A bound of n keeps up to n streams (two for a bound of one); below 32
// created streams are not kept apart.
type headCache struct {
	mu      sync.Mutex
	known   generations // streams read from the index or appended to twice
	created generations // streams this store created, not appended to since
}

// generations is one part of the cache: two maps of up to half entries.
type generations struct {
	half     int // each generation's bound; 0: nothing is kept
	cur, old map[string]*streamState
}

func newHeadCache(n int) *headCache {
	if n == 0 {
		return &headCache{}
	}
	created := 0 // each generation's
	if n >= 32 {
		created = n / 32
	}
	return &headCache{
		known:   generations{half: max((n-2*created)/2, 1), cur: make(map[string]*streamState)},
		created: generations{half: created, cur: make(map[string]*streamState)},
	}
}

func (c *headCache) get(name string) (*streamState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.known.get(name); ok {
		return st, true
	}
	// A created stream asked for again is appended to again (or read):
	// it joins the known streams.
	st, ok := c.created.take(name)
	if ok {
		c.known.put(name, st)
	}
	return st, ok
}

// put caches a stream's state; created says this store's append just
// created the stream.
func (c *headCache) put(name string, st *streamState, created bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if created && c.created.half > 0 {
		c.known.remove(name)
		c.created.put(name, st)
		return
	}
	c.created.remove(name)
	c.known.put(name, st)
}

func (c *headCache) drop(name string) {
	c.mu.Lock()
	c.known.remove(name)
	c.created.remove(name)
	c.mu.Unlock()
}

// len is the number of streams cached.
func (c *headCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.known.cur) + len(c.known.old) + len(c.created.cur) + len(c.created.old)
}

func (g *generations) get(name string) (*streamState, bool) {
	if st, ok := g.cur[name]; ok {
		return st, true
	}
	// A stream found in the old generation moves to the current one. Its
	// entry in the old one is left as it is: the current generation is
	// looked in first, and the old one goes whole at the next rotation.
	st, ok := g.old[name]
	if ok {
		g.put(name, st)
	}
	return st, ok
}

// take removes a stream and returns its state.
func (g *generations) take(name string) (*streamState, bool) {
	st, ok := g.cur[name]
	if !ok {
		st, ok = g.old[name]
	}
	if ok {
		g.remove(name)
	}
	return st, ok
}

func (g *generations) put(name string, st *streamState) {
	if g.half == 0 {
		return
	}
	if _, ok := g.cur[name]; !ok && len(g.cur) >= g.half {
		g.old, g.cur = g.cur, make(map[string]*streamState, g.half)
	}
	g.cur[name] = st // an older entry in the old generation is never looked at again
}

func (g *generations) remove(name string) {
	delete(g.cur, name)
	delete(g.old, name)
}
