package eventstore

import (
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable/block"
)

// How the read index compresses its tables. Every commit body is in the
// index twice (a stream's copy and the log-ordered one), so the index's
// size is mostly bodies, and JSON bodies compress well across a block:
// field names repeat from event to event. Measured on issue 24's data set
// (200 B JSON events, BENCHMARKS.md): zstd (level 3) makes the index about
// a quarter smaller than pebble's default, snappy; larger blocks or
// pebble's newer table format change little.
//
// Every level, L0 included: a table that overlaps nothing below it is
// moved down a level as it is, never rewritten, and the log-ordered copy
// is written in log order, so most of its tables settle in the level the
// flush gave them their compression in. zstd costs more CPU than snappy to
// write (off the append's path: the index writer runs after the
// acknowledgement) and to decompress a block on a cache miss.
func setIndexCompression(opts *pebble.Options) {
	for i := range opts.Levels {
		opts.Levels[i].Compression = func() *block.CompressionProfile { return block.ZstdCompression }
	}
}
