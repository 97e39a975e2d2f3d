package aggregate

import (
	"container/list"
	"sync"
)

// stateCache is a bounded, least-recently-used cache of loaded states.
// The states in it are never handed out: callers get copies (see
// Repository.cfg.clone), so a decider cannot change them. A nil cache (the
// cache turned off) holds nothing.
type stateCache[S any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *cacheEntry, most recent first
	byID  map[string]*list.Element
}

type cacheEntry[S any] struct {
	id string
	l  Loaded[S]
}

func newStateCache[S any](n int) *stateCache[S] {
	return &stateCache[S]{max: n, order: list.New(), byID: make(map[string]*list.Element)}
}

func (c *stateCache[S]) get(id string) (Loaded[S], bool) {
	if c == nil {
		return Loaded[S]{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		return Loaded[S]{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry[S]).l, true
}

// put caches l for id, unless the cache holds a newer version already (a
// slower command's state arriving after a faster one's).
func (c *stateCache[S]) put(id string, l Loaded[S]) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[id]; ok {
		if e := el.Value.(*cacheEntry[S]); l.Version >= e.l.Version {
			e.l = l
		}
		c.order.MoveToFront(el)
		return
	}
	c.byID[id] = c.order.PushFront(&cacheEntry[S]{id: id, l: l})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byID, last.Value.(*cacheEntry[S]).id)
	}
}

func (c *stateCache[S]) drop(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[id]; ok {
		c.order.Remove(el)
		delete(c.byID, id)
	}
}
