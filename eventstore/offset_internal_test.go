package eventstore

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestPositionFormat checks that an offset's two numbers are written as
// their zero-padded decimal digits, for the edges and for random values,
// and that a position the store hands out, formatted and parsed again, is
// the same position.
func TestPositionFormat(t *testing.T) {
	seqs := []uint64{0, 1, 9, 10, 99, 100, 101, 999, 1000, 123456789, 1e19 - 1, 1e19, math.MaxUint64}
	idxs := []uint32{0, 1, 9, 10, 99, 100, 12345, maxOffsetIdx}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		seqs = append(seqs, rng.Uint64()>>rng.IntN(64))
		idxs = append(idxs, uint32(rng.IntN(maxOffsetIdx+1)))
	}
	for i, seq := range seqs {
		p := position{seq: seq, idx: idxs[i%len(idxs)]}
		want := fmt.Sprintf("%020d_%06d", p.seq, p.idx)
		if got := string(p.offset()); got != want {
			t.Fatalf("position %d/%d: %q, want %q", p.seq, p.idx, got, want)
		}
		if p.seq == 0 || p.idx == 0 {
			continue // not a position the store hands out (only the start is)
		}
		if q, err := p.offset().position(); err != nil || q != p {
			t.Fatalf("%q parses as %v, %v; want %v", want, q, err, p)
		}
	}
}
