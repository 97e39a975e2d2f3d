package eventstore

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// next returns a new ID for one event appended at now, as an append of
// that event gets it.
func (g *idGen) next(now time.Time) uuid.UUID {
	e := []Event{{}}
	g.fill(e, now)
	return e[0].ID
}

// checkV7 checks the version and variant bits of a generated ID.
func checkV7(t *testing.T, id uuid.UUID) {
	t.Helper()
	if id.Version() != 7 || id.Variant() != uuid.RFC4122 {
		t.Fatalf("id %s: version %d, variant %v; want 7, RFC 4122", id, id.Version(), id.Variant())
	}
}

// TestIDsCarryTheirTime: an ID made at t holds t's Unix milliseconds, and
// its next 12 bits order the IDs within the millisecond.
func TestIDsCarryTheirTime(t *testing.T) {
	g := newIDGen()
	base := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	prev := uuid.Nil
	for i := range 1000 {
		at := base.Add(time.Duration(i) * 997 * time.Microsecond)
		id := g.next(at)
		checkV7(t, id)
		if got := time.UnixMilli(uuidMillis(id)); !got.Equal(at.Truncate(time.Millisecond)) {
			t.Fatalf("id %d made at %v holds %v", i, at, got)
		}
		if bytes.Compare(id[:], prev[:]) <= 0 {
			t.Fatalf("id %d %s is not after %s", i, id, prev)
		}
		prev = id
	}
	// A clock before 1970 counts as 1970, and the next reading is used
	// again.
	g2 := newIDGen()
	if id := g2.next(time.Unix(-5, 0)); uuidMillis(id) != 0 || id.Version() != 7 {
		t.Errorf("id made before 1970: %s", id)
	}
	if id := g2.next(base); uuidMillis(id) != base.UnixMilli() {
		t.Errorf("id made at %v after one made before 1970 holds %d ms", base, uuidMillis(id))
	}
	// uuid's own reading of the time agrees to the millisecond.
	at := base.Add(123456789)
	if got := time.Unix(newIDGen().next(at).Time().UnixTime()); got.Sub(at).Abs() >= time.Millisecond {
		t.Errorf("uuid reads %v from an id made at %v", got, at)
	}
}

// TestIDsIncreaseWhenTheClockStalls: with the clock standing still or
// going back, the IDs keep increasing, counting on in the sub-millisecond
// bits and carrying into the milliseconds.
func TestIDsIncreaseWhenTheClockStalls(t *testing.T) {
	g := newIDGen()
	at := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	prev := uuid.Nil
	for i := range 3 * 4096 {
		when := at
		if i%3 == 2 {
			when = at.Add(-time.Second)
		}
		id := g.next(when)
		checkV7(t, id)
		if bytes.Compare(id[:], prev[:]) <= 0 {
			t.Fatalf("id %d %s is not after %s", i, id, prev)
		}
		prev = id
	}
	// 12,288 IDs in one millisecond took three milliseconds of IDs; the
	// clock moving on past them is used again.
	if ms := time.UnixMilli(uuidMillis(prev)); !ms.Equal(at.Add(2 * time.Millisecond)) {
		t.Errorf("last stalled id at %v, want %v", ms, at.Add(2*time.Millisecond))
	}
	later := at.Add(time.Second)
	if id := g.next(later); uuidMillis(id) != later.UnixMilli() {
		t.Errorf("id after the clock moved on holds %d ms, want %d", uuidMillis(id), later.UnixMilli())
	}
}

func uuidMillis(id uuid.UUID) int64 {
	return int64(id[0])<<40 | int64(id[1])<<32 | int64(id[2])<<24 | int64(id[3])<<16 | int64(id[4])<<8 | int64(id[5])
}

// TestIDsUniqueAcrossGoroutines: IDs made at once by many goroutines, at
// the same instant, never repeat, and each goroutine's are increasing.
func TestIDsUniqueAcrossGoroutines(t *testing.T) {
	g := newIDGen()
	const workers, each = 8, 5000
	at := time.Now()
	got := make([][]uuid.UUID, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				got[w] = append(got[w], g.next(at))
			}
		})
	}
	wg.Wait()
	seen := make(map[uuid.UUID]bool, workers*each)
	for w := range got {
		for i, id := range got[w] {
			checkV7(t, id)
			if seen[id] {
				t.Fatalf("id %s made twice", id)
			}
			seen[id] = true
			if i > 0 && bytes.Compare(id[:], got[w][i-1][:]) <= 0 {
				t.Fatalf("goroutine %d: id %s is not after %s", w, id, got[w][i-1])
			}
		}
	}
	// The random bits differ from one generator to the next.
	a, b := newIDGen().next(at), newIDGen().next(at)
	if bytes.Equal(a[8:], b[8:]) {
		t.Errorf("two generators made the same random bits: %s, %s", a, b)
	}
}
