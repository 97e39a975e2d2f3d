package eventstore

import (
	"fmt"
	"testing"
)

// The head cache stays within its bound however many streams pass
// through it, and a stream just put is always found, also when the
// insertion evicted a batch of others.
func TestHeadCacheBound(t *testing.T) {
	for _, bound := range []int{1, 2, 63, 64, 1000} {
		c := newHeadCache(bound)
		for i := range 5 * bound {
			name := fmt.Sprintf("s/%d", i)
			st := &streamState{subj: name}
			c.put(name, st)
			if got, ok := c.get(name); !ok || got != st {
				t.Fatalf("bound %d: %s not found right after put", bound, name)
			}
			if len(c.m) > bound {
				t.Fatalf("bound %d: %d entries after %d puts", bound, len(c.m), i+1)
			}
		}
		// Putting a cached stream again evicts nothing.
		n := len(c.m)
		for name, st := range c.m {
			c.put(name, st)
		}
		if len(c.m) != n {
			t.Fatalf("bound %d: re-putting cached streams changed the size %d -> %d", bound, n, len(c.m))
		}
	}
	c := newHeadCache(0)
	c.put("s/0", &streamState{})
	if _, ok := c.get("s/0"); ok {
		t.Fatal("a cache of bound 0 kept a stream")
	}
}
