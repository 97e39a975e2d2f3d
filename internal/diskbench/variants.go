package diskbench

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable/block"
)

// Variant is one way of laying out and compressing a copy of an index.
type Variant struct {
	Name        string
	Compression *block.CompressionProfile
	BlockSize   int
	Ordered     string // "body": 'o' keys as they are; "pointer": seq → name; "none"
	StreamBody  bool   // 'c' keys hold the body (else the commit's seq only)
	Newest      bool   // pebble's newest format (columnar blocks) rather than its oldest
}

// VariantResult is a variant's size, fully compacted, and the rate of a
// scan of its log-ordered keys.
type VariantResult struct {
	Name         string  `json:"name"`
	Bytes        int64   `json:"bytes"`
	StreamBytes  int64   `json:"stream_keys_bytes"`
	OrderedBytes int64   `json:"ordered_keys_bytes"`
	ScanPerSec   float64 `json:"ordered_scan_per_sec,omitempty"`
	StreamReadMs float64 `json:"stream_read_ms"`
}

// IndexVariants copies the index generation in src into one new pebble
// database per variant under work, compacts each fully, and measures it.
func IndexVariants(src, work string, variants []Variant) ([]VariantResult, error) {
	db, err := pebble.Open(src, &pebble.Options{ReadOnly: true, Logger: quietLogger{}})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var out []VariantResult
	for _, v := range variants {
		dir := filepath.Join(work, v.Name)
		_ = os.RemoveAll(dir)
		r, err := oneVariant(db, dir, v)
		if err != nil {
			return out, fmt.Errorf("%s: %w", v.Name, err)
		}
		out = append(out, r)
		_ = os.RemoveAll(dir)
	}
	return out, nil
}

func oneVariant(src *pebble.DB, dir string, v Variant) (VariantResult, error) {
	r := VariantResult{Name: v.Name}
	opts := &pebble.Options{DisableWAL: true, MemTableSize: 32 << 20, Logger: quietLogger{}}
	if v.Newest {
		opts.FormatMajorVersion = pebble.FormatNewest
	}
	for i := range opts.Levels {
		opts.Levels[i].BlockSize = v.BlockSize
		p := v.Compression
		opts.Levels[i].Compression = func() *block.CompressionProfile { return p }
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return r, err
	}
	defer db.Close()
	it, err := src.NewIter(nil)
	if err != nil {
		return r, err
	}
	b := db.NewBatch()
	for ok := it.First(); ok; ok = it.Next() {
		k, val := it.Key(), it.Value()
		switch {
		case k[0] == 'o' && v.Ordered == "none":
			continue
		case k[0] == 'o' && v.Ordered == "pointer":
			// name (uvarint len + bytes) only.
			l, n := binary.Uvarint(val[8:])
			val = val[8 : 8+n+int(l)]
		case k[0] == 'c' && !v.StreamBody:
			val = val[:8]
		}
		_ = b.Set(k, val, nil)
		if b.Len() > 16<<20 {
			if err := b.Commit(pebble.NoSync); err != nil {
				return r, err
			}
			b = db.NewBatch()
		}
	}
	_ = it.Close()
	if err := b.Commit(pebble.NoSync); err != nil {
		return r, err
	}
	if err := db.Compact(context.Background(), []byte{0}, []byte{0xff}, true); err != nil {
		return r, err
	}
	if r.Bytes, err = DirSize(dir); err != nil {
		return r, err
	}
	if sz, err := db.EstimateDiskUsage([]byte("c"), []byte("d")); err == nil {
		r.StreamBytes = int64(sz)
	}
	if sz, err := db.EstimateDiskUsage([]byte("o"), []byte("p")); err == nil {
		r.OrderedBytes = int64(sz)
	}
	if v.Ordered != "none" {
		start := time.Now()
		it, _ := db.NewIter(&pebble.IterOptions{LowerBound: []byte("o"), UpperBound: []byte("p")})
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			n += len(it.Value()) & 0
			n++
		}
		_ = it.Close()
		r.ScanPerSec = float64(n) / time.Since(start).Seconds()
	}
	var reads []time.Duration
	for range 20 {
		p := append([]byte{'c'}, Target...)
		p = append(p, 0)
		start := time.Now()
		it, _ := db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: append(p[:len(p)-1:len(p)-1], 1)})
		for ok := it.First(); ok; ok = it.Next() {
			_ = it.Value()
		}
		_ = it.Close()
		reads = append(reads, time.Since(start))
	}
	slices.Sort(reads)
	r.StreamReadMs = float64(reads[len(reads)/2]) / 1e6
	return r, nil
}

// DefaultVariants are the layouts and compressions issue 24 compares.
func DefaultVariants() []Variant {
	return []Variant{
		{Name: "snappy-32k-both", Compression: block.SnappyCompression, BlockSize: 32 << 10, Ordered: "body", StreamBody: true},
		{Name: "minlz-32k-both", Compression: block.FastestCompression, BlockSize: 32 << 10, Ordered: "body", StreamBody: true},
		{Name: "zstd1-32k-both", Compression: block.BalancedCompression, BlockSize: 32 << 10, Ordered: "body", StreamBody: true},
		{Name: "zstd3-32k-both", Compression: block.ZstdCompression, BlockSize: 32 << 10, Ordered: "body", StreamBody: true},
		{Name: "zstd3-64k-both", Compression: block.ZstdCompression, BlockSize: 64 << 10, Ordered: "body", StreamBody: true},
		{Name: "new-good-32k-both", Compression: block.GoodCompression, BlockSize: 32 << 10, Ordered: "body", StreamBody: true, Newest: true},
		{Name: "new-snappy-32k-both", Compression: block.SnappyCompression, BlockSize: 32 << 10, Ordered: "body", StreamBody: true, Newest: true},
		{Name: "new-minlz-32k-both", Compression: block.MinLZCompression, BlockSize: 32 << 10, Ordered: "body", StreamBody: true, Newest: true},
		{Name: "new-zstd3-32k-both", Compression: block.ZstdCompression, BlockSize: 32 << 10, Ordered: "body", StreamBody: true, Newest: true},
		{Name: "new-zstd3-16k-both", Compression: block.ZstdCompression, BlockSize: 16 << 10, Ordered: "body", StreamBody: true, Newest: true},
		{Name: "zstd3-32k-ptr", Compression: block.ZstdCompression, BlockSize: 32 << 10, Ordered: "pointer", StreamBody: true},
		{Name: "zstd3-32k-none", Compression: block.ZstdCompression, BlockSize: 32 << 10, Ordered: "none", StreamBody: true},
		{Name: "snappy-32k-none", Compression: block.SnappyCompression, BlockSize: 32 << 10, Ordered: "none", StreamBody: true},
		{Name: "zstd3-32k-obody-cptr", Compression: block.ZstdCompression, BlockSize: 32 << 10, Ordered: "body", StreamBody: false},
	}
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)      {}
func (quietLogger) Errorf(string, ...any)     {}
func (quietLogger) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

// CopyVariants are the layouts ReadCompare compares by default: the index
// with and without its log-ordered copy, and with snappy and zstd.
func CopyVariants() []Variant {
	return []Variant{
		{Name: "snappy-with-copy", Compression: block.SnappyCompression, BlockSize: 32 << 10, Ordered: "body", StreamBody: true},
		{Name: "snappy-without-copy", Compression: block.SnappyCompression, BlockSize: 32 << 10, Ordered: "none", StreamBody: true},
		{Name: "zstd-with-copy", Compression: block.ZstdCompression, BlockSize: 32 << 10, Ordered: "body", StreamBody: true},
	}
}
