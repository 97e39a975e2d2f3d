package eventstore

import (
	"runtime"
	"testing"
)

// TestArenaChunksShareSpans checks that a read's arena chunks are of a
// size class that packs several objects into one span. With 8 KiB chunks
// (one object a span) every chunk took a span of its own through the
// allocator's slow path, about 7 % of a warm read's CPU. The number of
// spans in use (MemStats.MSpanInuse counts their descriptors) grows by
// one per object for 8 KiB objects, the yardstick, and must grow by at
// most half as much for as many arena chunks.
func TestArenaChunksShareSpans(t *testing.T) {
	const n = 1000
	spans := func(alloc func() []byte) int64 {
		kept := make([][]byte, 0, 4*n)
		runtime.GC() // swept: nothing freed while counting
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for len(kept) < cap(kept) {
			kept = append(kept, alloc())
		}
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(kept)
		return int64(after.MSpanInuse) - int64(before.MSpanInuse)
	}
	yardstick := spans(func() []byte { return make([]byte, 8<<10) }) / 4 // n objects: 4n allocations of a quarter each below
	a := &arena{}
	chunks := spans(func() []byte { return a.alloc(arenaChunk / 4) }) // four to a chunk: about n chunks
	t.Logf("span descriptors in use: +%d B for %d chunks of %d B, +%d B for %d objects of 8 KiB", chunks, n, arenaChunk, yardstick, n)
	if yardstick <= 0 {
		t.Fatalf("%d objects of 8 KiB took no span descriptors (%d B): the yardstick measures nothing", n, yardstick)
	}
	if chunks*2 > yardstick {
		t.Fatalf("%d arena chunks of %d B took %d B of span descriptors, %d objects of 8 KiB took %d B: the chunks do not share spans",
			n, arenaChunk, chunks, n, yardstick)
	}
}
