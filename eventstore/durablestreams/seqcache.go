package durablestreams

import (
	"container/list"
	"sync"
)

// seqCacheSize bounds the streams whose last Stream-Seq the handler keeps
// in memory. A stream that falls out reads its Stream-Seq again from its
// events on its next Stream-Seq append.
const seqCacheSize = 4096

// seqCache is the last Stream-Seq of the streams written most recently,
// least recently used out first, so that a server that sees many streams
// does not grow without bound.
type seqCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *seqEntry, most recent first
	byKey map[string]*list.Element
}

type seqEntry struct {
	name, seq string
}

func newSeqCache(max int) *seqCache {
	return &seqCache{max: max, order: list.New(), byKey: map[string]*list.Element{}}
}

// get returns a stream's last Stream-Seq, if kept.
func (c *seqCache) get(name string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[name]
	if !ok {
		return "", false
	}
	c.order.MoveToFront(el)
	return el.Value.(*seqEntry).seq, true
}

// put keeps a stream's last Stream-Seq, dropping the least recently used
// stream's when the cache is full.
func (c *seqCache) put(name, seq string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[name]; ok {
		el.Value.(*seqEntry).seq = seq
		c.order.MoveToFront(el)
		return
	}
	c.byKey[name] = c.order.PushFront(&seqEntry{name: name, seq: seq})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.byKey, old.Value.(*seqEntry).name)
	}
}

// forget drops a stream's entry (the stream was deleted).
func (c *seqCache) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[name]; ok {
		c.order.Remove(el)
		delete(c.byKey, name)
	}
}

// len is how many streams are kept.
func (c *seqCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
