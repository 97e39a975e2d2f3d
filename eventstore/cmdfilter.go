package eventstore

import (
	"hash/maphash"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// commandFilter is an in-memory Bloom filter of the command ids the read
// index holds, so that an append with a new command id (nearly every one)
// learns that the id was never recorded without a lookup in the index: in
// a busy index that lookup searches memtables of tens of thousands of
// entries, several microseconds per append.
//
// The index's writer adds every command key it writes; when the index is
// opened, a goroutine adds the keys already on disk, and until it is done
// the filter answers "maybe" to everything. A false "maybe" only costs the
// lookup the filter exists to save; there is no false "no". 2^24 bits (2
// MiB) keep false positives near 1% up to about 1.7M command ids, and
// slowly rising after that.
type commandFilter struct {
	seed  maphash.Seed
	bits  []atomic.Uint64
	ready atomic.Bool
}

const (
	filterBits   = 1 << 24
	filterHashes = 7
)

func newCommandFilter() *commandFilter {
	return &commandFilter{seed: maphash.MakeSeed(), bits: make([]atomic.Uint64, filterBits/64)}
}

// hashes returns the two hashes the filter's probes derive from.
func (f *commandFilter) hashes(name, id string) (uint64, uint64) {
	var h maphash.Hash
	h.SetSeed(f.seed)
	h.WriteString(name)
	h.WriteByte(0)
	h.WriteString(id)
	a := h.Sum64()
	return a, a>>33 | a<<31 | 1
}

func (f *commandFilter) add(name, id string) {
	a, b := f.hashes(name, id)
	for i := range uint64(filterHashes) {
		bit := (a + i*b) % filterBits
		f.bits[bit/64].Or(1 << (bit % 64))
	}
}

// mayHold reports whether the index may hold a command key: false only
// once the filter is ready and the key was certainly never added.
func (f *commandFilter) mayHold(name, id string) bool {
	if !f.ready.Load() {
		return true
	}
	a, b := f.hashes(name, id)
	for i := range uint64(filterHashes) {
		bit := (a + i*b) % filterBits
		if f.bits[bit/64].Load()&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

// load adds every command key in db to the filter, then makes it ready.
// Keys written meanwhile are added by the writer. It gives up quietly
// when the database closes under it (the filter then stays "maybe").
func (f *commandFilter) load(db *pebble.DB, stop <-chan struct{}) {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{'k'}, UpperBound: []byte{'k' + 1}})
	if err != nil {
		return
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if n++; n%4096 == 0 {
			select {
			case <-stop:
				return
			default:
			}
		}
		k := it.Key()[1:]
		for i, c := range k {
			if c == 0 {
				f.add(string(k[:i]), string(k[i+1:]))
				break
			}
		}
	}
	if it.Error() == nil {
		f.ready.Store(true)
	}
}
