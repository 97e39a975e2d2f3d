package durablestreams

import (
	"fmt"
	"testing"
)

// The Stream-Seq cache keeps at most its bound, dropping the least recently
// used stream first.
func TestSeqCacheIsBounded(t *testing.T) {
	c := newSeqCache(100)
	for i := range 1000 {
		c.put(fmt.Sprint(i), "s")
		if i == 500 {
			c.get("0") // not used since it was dropped: stays out
		}
		c.get("999") // never put until the end
	}
	if n := c.len(); n != 100 {
		t.Fatalf("%d entries, want 100", n)
	}
	if _, ok := c.get("0"); ok {
		t.Error("the oldest entry is still kept")
	}
	c.put("900", "t")
	for i := range 50 {
		c.put(fmt.Sprint("new", i), "s")
	}
	if s, ok := c.get("900"); !ok || s != "t" {
		t.Errorf("a recently used entry was dropped: %q %v", s, ok)
	}
	c.forget("900")
	if _, ok := c.get("900"); ok {
		t.Error("forget kept the entry")
	}
}
