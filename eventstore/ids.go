package eventstore

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// idGen makes the UUID v7s of events appended without an ID (RFC 9562,
// section 5.7): 48 bits of Unix milliseconds, then 12 bits of
// sub-millisecond time (the RFC's method 3), then 62 random bits.
//
// It exists because an ID is made on every append: uuid.NewV7 reads the
// clock again, takes a package-wide lock and reads the operating system's
// random source for 16 bytes, about 0.7 µs in all, a few percent of an
// append under load. Here the append's one clock reading is used, the
// order is kept with one atomic, and the random bits come from ChaCha8
// generators (cryptographically strong, seeded from crypto/rand), one per
// P through a sync.Pool.
//
// The events of one append that have no ID get theirs from one
// reservation of consecutive time fields (fill), so that they are
// consecutive in time too, whatever other appends do meanwhile.
//
// The IDs of one store are strictly increasing in the order they are made,
// as uuid.NewV7's are in a process: when the clock stands still or goes
// back, the 12 sub-millisecond bits count on from the last ID, carrying
// into the milliseconds. After the clock steps back, IDs therefore stay
// ahead of it by the size of the step until it catches up. (Events of
// concurrent appends to one stream get their IDs before they take their
// versions, so IDs need not follow versions.)
type idGen struct {
	last atomic.Uint64 // ms<<12 | sub-ms bits of the last ID
	rngs sync.Pool     // *rand.ChaCha8
}

func newIDGen() *idGen {
	g := &idGen{}
	g.rngs.New = func() any {
		var seed [32]byte
		// crypto/rand.Read does not fail on the platforms Go supports
		// (it aborts the process if the OS source is gone).
		_, _ = crand.Read(seed[:])
		return rand.NewChaCha8(seed)
	}
	return g
}

// fill gives each event of events without an ID a new one, all made at
// now. They take consecutive time fields (one reservation for them all):
// the read index then keeps the event-id keys of a commit's events as one
// range instead of one key each (index_eventid.go).
func (g *idGen) fill(events []Event, now time.Time) {
	n := 0
	for i := range events {
		if events[i].ID == uuid.Nil {
			n++
		}
	}
	if n == 0 {
		return
	}
	t := g.reserve(now, n)
	rng := g.rngs.Get().(*rand.ChaCha8)
	for i := range events {
		if events[i].ID == uuid.Nil {
			events[i].ID = makeID(t, rng)
			t++
		}
	}
	g.rngs.Put(rng)
}

// reserve takes n consecutive time fields (ms<<12 | sub-ms bits) for IDs
// made at now, after every one taken before, and returns the first.
func (g *idGen) reserve(now time.Time, n int) uint64 {
	ns := max(now.UnixNano(), 0) // a clock before 1970 counts as 1970
	// The sub-millisecond part scaled to 12 bits: ns%1e6 * 4096 / 1e6.
	t := uint64(ns/1e6)<<12 | uint64(ns%1e6)*4096/1e6
	for {
		last := g.last.Load()
		if t <= last {
			t = last + 1
		}
		if g.last.CompareAndSwap(last, t+uint64(n)-1) {
			return t
		}
	}
}

// makeID makes the ID with time field t and random bits from rng.
func makeID(t uint64, rng *rand.ChaCha8) uuid.UUID {
	r := rng.Uint64()
	var id uuid.UUID
	ms := t >> 12
	id[0], id[1], id[2], id[3], id[4], id[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	id[6] = 0x70 | byte(t>>8)&0x0f // version 7
	id[7] = byte(t)
	binary.BigEndian.PutUint64(id[8:], r&^(3<<62)|1<<63) // variant 10
	return id
}

// idTime returns the time field (ms<<12 | sub-ms bits) of a version 7 ID,
// the inverse of makeID's; ok is false for an ID of another version.
func idTime(id uuid.UUID) (t uint64, ok bool) {
	if id[6]>>4 != 7 {
		return 0, false
	}
	ms := uint64(id[0])<<40 | uint64(id[1])<<32 | uint64(id[2])<<24 | uint64(id[3])<<16 | uint64(id[4])<<8 | uint64(id[5])
	return ms<<12 | uint64(id[6]&0x0f)<<8 | uint64(id[7]), true
}
