package eventstore

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// StreamInfo describes one stream: its name and head.
type StreamInfo struct {
	// Name is the stream's name.
	Name string
	// Version is the stream's version: the number of its events.
	Version uint64
	// Offset is the offset of the stream's last event (its Head's Offset).
	Offset Offset
	// StoredAt is when the last event was stored.
	StoredAt time.Time
	// Closed reports that the stream is closed (see WithClose).
	Closed bool
}

// streamsPage is how many streams one hold of the read index lists: the
// caller's loop never runs while the index is held, so a slow consumer of
// the list never keeps a Reindex or a Close waiting.
const streamsPage = 256

// Streams returns the streams that have events, in name order (byte order);
// category "" means all, otherwise only that category's (the stream named
// category and those under "category/"). It is served from the read index,
// where each stream's commits lie together: the listing seeks from one
// stream's keys to the next stream's, so its cost follows the number of
// streams, not of events. It sees every append acknowledged before it began.
// A deleted stream is not listed (until it has events again); a stream
// closed without ever holding an event neither. Errors (a bad category,
// a cancelled ctx) come as the iterator's last pair.
func (s *Store) Streams(ctx context.Context, category string) iter.Seq2[StreamInfo, error] {
	return func(yield func(StreamInfo, error) bool) {
		fail := func(err error) { yield(StreamInfo{}, fmt.Errorf("eventstore: list streams of %q: %w", category, err)) }
		ranges, err := streamRanges(category)
		if err != nil {
			fail(err)
			return
		}
		target, err := s.readTarget(ctx)
		if err != nil {
			fail(err)
			return
		}
		for _, r := range ranges {
			from := r.lower
			for from != nil {
				var page []StreamInfo
				err := s.withIndex(ctx, target, func(x *index, covered uint64) error {
					var err error
					page, from, err = x.streamsFrom(from, r.upper, covered, streamsPage)
					return err
				})
				if err == nil {
					err = ctx.Err()
				}
				if err != nil {
					fail(err)
					return
				}
				for _, info := range page {
					if !yield(info, nil) {
						return
					}
				}
			}
		}
	}
}

// keyRange is a range of commit keys: [lower, upper), upper nil meaning
// the end of the commit keys.
type keyRange struct{ lower, upper []byte }

// streamRanges returns the ranges of commit keys that hold a category's
// streams, in name order: the stream named category itself, then
// "category/..." (the keys "c" category "/" up to "c" category "0", '0'
// following '/'). A single range of "c" category would also hold other
// categories that merely begin the same way ("orders-archive").
func streamRanges(category string) ([]keyRange, error) {
	if category == "" {
		return []keyRange{{lower: []byte{'c'}, upper: []byte{'c' + 1}}}, nil
	}
	if _, err := categoryFilters("", category); err != nil {
		return nil, err
	}
	own := streamPrefix('c', category)
	under := append([]byte{'c'}, category+"/"...)
	end := append([]byte{'c'}, category+"0"...)
	return []keyRange{{lower: own, upper: upperBound(own)}, {lower: under, upper: end}}, nil
}

// streamsFrom lists up to n streams whose commit keys lie in [from, upper),
// as of covered, and returns where the next page starts (nil: the range is
// done). From a stream's first commit key it seeks past the stream's keys
// to the next stream's, so the cost is a seek and a head per stream. A
// stream whose every commit lies above covered is not listed yet.
func (x *index) streamsFrom(from, upper []byte, covered uint64, n int) ([]StreamInfo, []byte, error) {
	it, err := x.db.NewIter(&pebble.IterOptions{LowerBound: from, UpperBound: upper})
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	var page []StreamInfo
	for ok := it.First(); ok; {
		key := it.Key()
		end := bytes.IndexByte(key[1:], 0)
		if end < 0 {
			return nil, nil, fmt.Errorf("%w: index key %q", ErrCorrupt, key)
		}
		name := string(key[1 : 1+end])
		h, err := x.head(name, covered)
		if err != nil {
			return nil, nil, err
		}
		if h.version > 0 {
			page = append(page, StreamInfo{Name: name, Version: h.version,
				Offset: commitEnd(h.seq).offset(), StoredAt: h.stored, Closed: h.closed})
		}
		next := upperBound(streamPrefix('c', name))
		if len(page) == n {
			return page, next, nil
		}
		ok = it.SeekGE(next)
	}
	return page, nil, it.Error()
}
