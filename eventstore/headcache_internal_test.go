package eventstore

import (
	"context"
	"errors"
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
		c.put("hot", hot, false)
		for i := range 5 * bound {
			name := fmt.Sprintf("s/%d", i)
			st := &streamState{subj: name}
			c.put(name, st, false)
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
		c.put("hot", newer, false)
		if got, _ := c.get("hot"); got != newer {
			t.Fatalf("bound %d: get returned an older state after put", bound)
		}
		c.drop("hot")
		if _, ok := c.get("hot"); ok {
			t.Fatalf("bound %d: a dropped stream was found", bound)
		}
	}
	c := newHeadCache(0)
	c.put("s/0", &streamState{}, false)
	if _, ok := c.get("s/0"); ok {
		t.Fatal("a cache of bound 0 kept a stream")
	}
}

// Streams the store created are kept apart, in a sixteenth of the bound:
// however many are created, they take no more, the streams known before
// stay cached, and a created stream asked for again joins the known ones.
func TestHeadCacheCreatedKeptApart(t *testing.T) {
	const bound = 1000
	c := newHeadCache(bound)
	hot := &streamState{subj: "hot"}
	c.put("hot", hot, false)
	again := &streamState{subj: "again"}
	c.put("again", again, true)
	if got, ok := c.get("again"); !ok || got != again {
		t.Fatal("a created stream was not found right after put")
	}
	for i := range 10 * bound {
		name := fmt.Sprintf("s/%d", i)
		st := &streamState{subj: name}
		c.put(name, st, true)
		if got, ok := c.get(name); !ok || got != st {
			t.Fatalf("%s not found right after put", name)
		}
		c.drop(name) // asked for again above: a known stream now; drop it to count only created ones
		c.put(name, st, true)
		if n := c.len(); n > 2+2*(bound/32) {
			t.Fatalf("%d entries after %d created streams; want at most %d", n, i+1, 2+2*(bound/32))
		}
	}
	for name, want := range map[string]*streamState{"hot": hot, "again": again} {
		if got, ok := c.get(name); !ok || got != want {
			t.Fatalf("%s, known before the created streams passed through, was evicted", name)
		}
	}
	// Below 32 streams created streams are not kept apart: a bound of
	// four keeps the last created ones.
	small := newHeadCache(4)
	for i := range 4 {
		small.put(fmt.Sprintf("s/%d", i), &streamState{}, true)
	}
	if n := small.len(); n != 4 {
		t.Fatalf("bound 4: %d created streams kept, want 4", n)
	}
}

// A store that creates many streams of one event each keeps the heads of
// only the last few it created (a sixteenth of its bound), and appends to
// the others read their heads from the index and are decided right: the
// expected version that matches is appended, the one that does not is a
// *ConcurrencyError.
func TestAppendManyNewStreamsKeepsFewHeads(t *testing.T) {
	ctx := context.Background()
	const bound, streams = 640, 400
	s, err := Open(ctx, t.TempDir(), WithHeadCache(bound))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	one := []Event{{Type: "Tick", Data: []byte(`1`)}}
	for i := range streams {
		if _, err := s.Append(ctx, fmt.Sprintf("one/%d", i), one, ExpectVersion(0)); err != nil {
			t.Fatalf("append to one/%d: %v", i, err)
		}
	}
	if n, most := s.heads.len(), 2*(bound/32); n > most {
		t.Fatalf("%d heads cached after %d new streams, want at most %d (bound %d)", n, streams, most, bound)
	}
	for _, name := range []string{"one/0", fmt.Sprintf("one/%d", streams-1)} {
		res, err := s.Append(ctx, name, one, ExpectVersion(1))
		if err != nil || res.Version != 2 {
			t.Fatalf("second append to %s: %+v, %v", name, res, err)
		}
	}
	var ce *ConcurrencyError
	if _, err := s.Append(ctx, "one/1", one, ExpectVersion(0)); !errors.As(err, &ce) || ce.Actual != 1 {
		t.Fatalf("ExpectVersion(0) on one/1, which has one event: %v, want a *ConcurrencyError at 1", err)
	}
	// The streams appended to twice are known streams now, and stay.
	for i := range streams {
		if _, err := s.Append(ctx, fmt.Sprintf("two/%d", i), one, ExpectVersion(0)); err != nil {
			t.Fatalf("append to two/%d: %v", i, err)
		}
	}
	if _, ok := s.heads.get("one/0"); !ok {
		t.Fatal("one/0, appended to twice, was evicted by new streams")
	}
}
