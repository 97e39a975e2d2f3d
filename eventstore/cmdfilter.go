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
// lookup the filter exists to save; there is no false "no".
//
// It is a blocked Bloom filter: each id sets 8 bits in one block of 256
// bits (one bit in each 32-bit lane of the block), so that a look-up reads
// one cache line, where a classic Bloom filter's probes each miss the
// cache somewhere in its 2 MiB (a command checked before it is decided
// pays the look-up on every Handle). 2^24 bits (2 MiB) keep false
// positives near 1% up to about 1.5M command ids, slowly rising after that.
//
// Its 2 MiB are allocated on first use (the first key added, or the
// loading), not when the index opens: a new process that opens a store to
// read one stream would otherwise spend its first garbage collection, due
// at a 4 MB heap, in the middle of that read.
type commandFilter struct {
	seed maphash.Seed
	// bits holds the blocks, filterBlockWords words each; 64-bit words
	// so that a block is read with four atomic loads. Nil until first
	// used (words).
	bits  atomic.Pointer[[]atomic.Uint64]
	ready atomic.Bool
}

const (
	filterBits       = 1 << 24
	filterBlockWords = 4 // 256 bits
	filterBlocks     = filterBits / 64 / filterBlockWords
)

func newCommandFilter() *commandFilter {
	return &commandFilter{seed: maphash.MakeSeed()}
}

// words returns the filter's words, allocating them on the first call.
func (f *commandFilter) words() []atomic.Uint64 {
	return loadOrMake(&f.bits, func() []atomic.Uint64 { return make([]atomic.Uint64, filterBits/64) })
}

// block returns the id's block (its first word's index) and the bits it
// sets in each of the block's words. One 64-bit hash is enough: 16 bits
// choose the block, then 5 bits each the bit of each of the 8 lanes.
func (f *commandFilter) block(name, id string) (int, [filterBlockWords]uint64) {
	var h maphash.Hash
	h.SetSeed(f.seed)
	h.WriteString(name)
	h.WriteByte(0)
	h.WriteString(id)
	sum := h.Sum64()
	at := int(sum%filterBlocks) * filterBlockWords
	sum /= filterBlocks
	var mask [filterBlockWords]uint64
	for lane := range 2 * filterBlockWords {
		mask[lane/2] |= 1 << (sum&31 + uint64(lane%2)*32)
		sum >>= 5
	}
	return at, mask
}

func (f *commandFilter) add(name, id string) {
	at, mask := f.block(name, id)
	bits := f.words()
	for i, m := range mask {
		bits[at+i].Or(m)
	}
}

// mayHold reports whether the index may hold a command key: false only
// once the filter is ready and the key was certainly never added.
func (f *commandFilter) mayHold(name, id string) bool {
	if !f.ready.Load() {
		return true
	}
	at, mask := f.block(name, id)
	bits := f.words() // allocated before ready was set
	for i, m := range mask {
		if bits[at+i].Load()&m != m {
			return false
		}
	}
	return true
}

// load adds every command key in db to the filter, then makes it ready.
// Keys written meanwhile are added by the writer. It gives up quietly
// when the database closes under it (the filter then stays "maybe").
func (f *commandFilter) load(db *pebble.DB, stop <-chan struct{}) {
	f.words()
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
