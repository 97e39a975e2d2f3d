package diskbench

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// ReadCompare copies the index generation in src into each variant under
// work, fully compacted, opens each with a 64 MiB block cache (the
// store's default), and times reads of Target's commits in every variant
// in turn, reads rounds times over: what a layout or a compression costs a
// warm one-stream read, with the machine's noise shared between them.
func ReadCompare(src, work string, variants []Variant, rounds int) (map[string]Latency, error) {
	sdb, err := pebble.Open(src, &pebble.Options{ReadOnly: true, Logger: quietLogger{}})
	if err != nil {
		return nil, err
	}
	dbs := make([]*pebble.DB, len(variants))
	defer func() {
		for _, db := range dbs {
			if db != nil {
				_ = db.Close()
			}
		}
	}()
	for i, v := range variants {
		dir := filepath.Join(work, v.Name)
		_ = os.RemoveAll(dir)
		if _, err := oneVariant(sdb, dir, v); err != nil {
			_ = sdb.Close()
			return nil, fmt.Errorf("%s: %w", v.Name, err)
		}
		defer os.RemoveAll(dir)
		cache := pebble.NewCache(64 << 20)
		opts := &pebble.Options{Cache: cache, Logger: quietLogger{}}
		for l := range opts.Levels {
			opts.Levels[l].BlockSize = v.BlockSize
		}
		db, err := pebble.Open(dir, opts)
		cache.Unref()
		if err != nil {
			_ = sdb.Close()
			return nil, err
		}
		dbs[i] = db
	}
	_ = sdb.Close()
	lo := append(append([]byte{'c'}, Target...), 0)
	hi := append(append([]byte{'c'}, Target...), 1)
	samples := make([][]time.Duration, len(variants))
	events := 0
	for r := range rounds + 1 {
		for i, db := range dbs {
			start := time.Now()
			it, err := db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
			if err != nil {
				return nil, err
			}
			n := 0
			for ok := it.First(); ok; ok = it.Next() {
				_ = it.Value()
				n++
			}
			if err := it.Close(); err != nil {
				return nil, err
			}
			if r > 0 { // the first round loads the blocks
				samples[i] = append(samples[i], time.Since(start))
			}
			events = n
		}
	}
	out := make(map[string]Latency, len(variants))
	for i, v := range variants {
		out[v.Name] = LatencyOf(samples[i], events)
	}
	return out, nil
}
