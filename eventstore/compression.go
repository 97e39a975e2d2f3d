package eventstore

import (
	"github.com/nats-io/nats.go/jetstream"
)

// The log's compression. JetStream compresses a file-stored stream's
// message blocks with S2 when the stream's config asks for it: each block
// is written as it comes and compressed once it is full and sealed, so an
// append costs what it did and a read of a sealed block decompresses it
// when it loads it (the read index serves one stream's reads, so that cost
// falls on log-ordered reads beyond the index and on the tailer).
// Measurements behind the default are in BENCHMARKS.md (issue 24, item 2).

// WithLogCompression sets whether the log a store creates compresses its
// sealed message blocks with S2 (the default: on). It applies to a log Open
// or Connect creates; an existing log keeps its own setting (see the
// package doc for how to change it).
func WithLogCompression(on bool) Option {
	return func(c *config) error {
		c.compression = jetstream.NoCompression
		if on {
			c.compression = jetstream.S2Compression
		}
		return nil
	}
}
