package eventstore

import (
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// The top of a deleted stream's commits in the read index.
//
// A tombstone deletes the stream's commit keys one by one (dropStream),
// and pebble keeps each deleted key until a compaction drops it: an
// iterator steps over every one of them, one entry at a time. A stream
// deleted and written again over and over (a delete racing appends) piles
// up thousands of them above the versions of its new life, and every
// look for the stream's last commit (Last, from the top of the stream's
// keys) walked them all: the index writer's check of each commit the
// tailer brings (lastVersionBefore) cost what the stream's earlier lives
// held, the writer fell behind the log, and readers waited on an index
// that no longer kept up (TestDeleteRacesAppendsAcrossStores).
//
// So the index remembers, for each stream whose commits its writer
// dropped, the highest version of a commit it holds (what lies above is
// deleted), and bounds its iterators over the stream's commits there.
// Only the writer sets it: raised once a batch that entered a higher
// commit is committed, lowered once a drop is. A top raised before the
// commit would make every look of the writer in the batch step over the
// deleted keys between the versions committed and those the batch
// enters, as many as the batch holds, for each of its commits; raised
// after the commit, it is raised before any look that the new commits
// matter to: the writer's next, a drop's, and a reader's, which uses
// nothing above the position the writer publishes after it. A stream the
// writer never dropped keys of has no entry and is iterated to the end of
// its keys, as before; so is one forgotten when the map reached its
// bound, or deleted by an earlier process (a compaction drops those keys
// in time).
type commitTops struct {
	mu sync.Mutex
	m  map[string]uint64
}

// maxTops bounds commitTops.
const maxTops = 1 << 16

// get returns the stream's top, if it is tracked.
func (t *commitTops) get(name string) (uint64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[name]
	return v, ok
}

// set records the stream's top after a drop.
func (t *commitTops) set(name string, v uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil || len(t.m) >= maxTops {
		t.m = make(map[string]uint64)
	}
	t.m[name] = v
}

// raise records a commit whose last version is v, about to be entered,
// on a tracked stream.
func (t *commitTops) raise(name string, v uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur, ok := t.m[name]; ok && v > cur {
		t.m[name] = v
	}
}

// commitIter returns an iterator over the stream's commit keys, bounded
// above its tracked top (or at the end of its keys).
func (x *index) commitIter(name string) (*pebble.Iterator, error) {
	p := streamPrefix('c', name)
	upper := upperBound(p)
	if top, ok := x.tops.get(name); ok {
		upper = commitKey(name, top+1)
	}
	return x.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: upper})
}
