package projection

import (
	"context"
	"iter"

	"github.com/rewindhq/rewind/eventstore"
)

// Source is the part of the log a projection reads: everything, one
// category, or a list of streams.
type Source struct {
	category string
	streams  []string
}

// All is the whole log (without the dead-letter category).
func All() Source { return Source{} }

// Category is every stream of one category.
func Category(name string) Source { return Source{category: name} }

// Streams is a list of streams (1 to 1,000).
func Streams(names ...string) Source { return Source{streams: names} }

// read returns the source's events, bounded (a read) or live (a
// subscription).
func (src Source) read(ctx context.Context, s *eventstore.Store, live bool, opts ...eventstore.ReadOption) iter.Seq2[eventstore.Event, error] {
	switch {
	case len(src.streams) > 0 && live:
		return s.SubscribeStreams(ctx, src.streams, opts...)
	case len(src.streams) > 0:
		return s.ReadStreams(ctx, src.streams, opts...)
	case src.category != "" && live:
		return s.SubscribeCategory(ctx, src.category, opts...)
	case src.category != "":
		return s.ReadCategory(ctx, src.category, opts...)
	case live:
		return s.SubscribeAll(ctx, opts...)
	default:
		return s.ReadAll(ctx, opts...)
	}
}
