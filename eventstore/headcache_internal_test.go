package eventstore

import (
	"fmt"
	"testing"
)

// The head cache stays within its bound however many streams pass
// through it, a stream just put is always found, and a stream looked up
// now and then stays cached while new streams pass through.
func TestHeadCacheBound(t *testing.T) {
	for _, bound := range []int{2, 3, 64, 1000} {
		c := newHeadCache(bound)
		hot := &streamState{subj: "hot"}
		c.put("hot", hot)
		for i := range 5 * bound {
			name := fmt.Sprintf("s/%d", i)
			st := &streamState{subj: name}
			c.put(name, st)
			if got, ok := c.get(name); !ok || got != st {
				t.Fatalf("bound %d: %s not found right after put", bound, name)
			}
			if n := c.len(); n > bound {
				t.Fatalf("bound %d: %d entries after %d puts", bound, n, i+1)
			}
			if i%(bound/2) == 0 {
				if got, ok := c.get("hot"); !ok || got != hot {
					t.Fatalf("bound %d: a stream looked up every %d puts was evicted", bound, bound/2)
				}
			}
		}
		// A newer state of a stream replaces the one cached.
		newer := &streamState{subj: "hot"}
		c.put("hot", newer)
		if got, _ := c.get("hot"); got != newer {
			t.Fatalf("bound %d: get returned an older state after put", bound)
		}
		c.drop("hot")
		if _, ok := c.get("hot"); ok {
			t.Fatalf("bound %d: a dropped stream was found", bound)
		}
	}
	c := newHeadCache(0)
	c.put("s/0", &streamState{})
	if _, ok := c.get("s/0"); ok {
		t.Fatal("a cache of bound 0 kept a stream")
	}
}
