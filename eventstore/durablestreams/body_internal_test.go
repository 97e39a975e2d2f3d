package durablestreams

import (
	"bytes"
	"errors"
	"testing"
	"testing/iotest"
)

// A GET answer's body that outgrows its first 64 KiB goes to a whole chunk
// in one allocation (it grew by doubling, five fresh allocations and
// copies on the way to 1 MiB), keeps what it held, and a small answer keeps
// its small buffer.
func TestGrowBodyGoesToAChunkAtOnce(t *testing.T) {
	h := &Handler{cfg: config{chunk: 1 << 20}}
	small := make([]byte, 0, 64<<10)
	if got := h.growBody(small, 100); cap(got) != 64<<10 {
		t.Fatalf("a body with room grew to %d bytes", cap(got))
	}
	b := append(make([]byte, 0, 64<<10), bytes.Repeat([]byte("x"), 64<<10-10)...)
	grows := 0
	for len(b) < 1<<20 {
		m := []byte("[a message of some bytes],")
		if g := h.growBody(b, len(m)); cap(g) != cap(b) {
			grows++
			if !bytes.Equal(g, b) {
				t.Fatal("growing the body changed what it held")
			}
			b = g
		}
		b = append(b, m...)
	}
	if grows != 1 || cap(b) != 1<<20+64<<10 {
		t.Fatalf("a body filled to a chunk grew %d times, to %d bytes; want once, to %d", grows, cap(b), 1<<20+64<<10)
	}
	// A message larger than the chunk still fits.
	if got := h.growBody(b, 3<<20); cap(got)-len(got) < 3<<20 {
		t.Fatalf("no room for a large message: %d bytes free", cap(got)-len(got))
	}
}

// TestReadAllOfKnownLength: a POST's body of announced length is read
// into one buffer of that length (io.ReadAll grew a 10 kB body through
// ten), and whatever the length says, readAll reads what io.ReadAll does.
func TestReadAllOfKnownLength(t *testing.T) {
	body := bytes.Repeat([]byte(`{"n":1,"pad":"xxxxxxxxxx"},`), 400)
	cases := []struct {
		name string
		size int64
	}{{"announced", int64(len(body))}, {"unknown", -1}, {"shorter than announced", int64(len(body)) + 7},
		{"longer than announced", 100}, {"empty", 0}}
	for _, tc := range cases {
		// iotest.HalfReader: reads come in pieces, as from a socket.
		got, err := readAll(iotest.HalfReader(bytes.NewReader(body)), tc.size)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("%s: %d bytes, %v; want the %d of the body", tc.name, len(got), err, len(body))
		}
	}
	if _, err := readAll(iotest.ErrReader(errors.New("cut")), 10); err == nil {
		t.Fatal("a read error was not returned")
	}
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := readAll(iotest.HalfReader(bytes.NewReader(body)), int64(len(body))); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 3 { // the buffer, the two readers
		t.Fatalf("readAll of a body of known length: %.0f allocations", allocs)
	}
}
