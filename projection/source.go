package projection

import (
	"context"
	"fmt"
	"iter"

	"github.com/rewindhq/rewind/eventstore"
)

// Source is the part of the log a projection reads: everything, one
// category, or a list of streams. Start, Replay and Rebuild refuse a
// source that names nothing (an empty category, no streams) or something
// no stream can be (see eventstore.CheckStreamName): an empty value from
// a configuration never widens a projection to the whole log. The zero
// Source, a Projection's Source left unset, is All.
type Source struct {
	kind     sourceKind
	category string
	streams  []string
}

type sourceKind int

const (
	sourceAll sourceKind = iota // the zero Source
	sourceCategory
	sourceStreams
)

// All is the whole log (without the dead-letter category).
func All() Source { return Source{} }

// Category is every stream of one category.
func Category(name string) Source { return Source{kind: sourceCategory, category: name} }

// Streams is a list of streams (1 to eventstore.MaxListedStreams).
func Streams(names ...string) Source {
	return Source{kind: sourceStreams, streams: append([]string(nil), names...)}
}

// check returns why the source cannot be read, if it cannot: an error
// wrapping eventstore.ErrInvalidOption, and ErrInvalidStreamName for a
// name.
func (src Source) check() error {
	switch src.kind {
	case sourceCategory:
		if err := eventstore.CheckCategory(src.category); err != nil {
			return fmt.Errorf("%w: source: %w", eventstore.ErrInvalidOption, err)
		}
	case sourceStreams:
		if n := len(src.streams); n == 0 || n > eventstore.MaxListedStreams {
			return fmt.Errorf("%w: source: %d streams (1 to %d)", eventstore.ErrInvalidOption, n, eventstore.MaxListedStreams)
		}
		for _, name := range src.streams {
			if err := eventstore.CheckStreamName(name); err != nil {
				return fmt.Errorf("%w: source: %w", eventstore.ErrInvalidOption, err)
			}
		}
	}
	return nil
}

// read returns the source's events, bounded (a read) or live (a
// subscription).
func (src Source) read(ctx context.Context, s *eventstore.Store, live bool, opts ...eventstore.ReadOption) iter.Seq2[eventstore.Event, error] {
	switch {
	case src.kind == sourceStreams && live:
		return s.SubscribeStreams(ctx, src.streams, opts...)
	case src.kind == sourceStreams:
		return s.ReadStreams(ctx, src.streams, opts...)
	case src.kind == sourceCategory && live:
		return s.SubscribeCategory(ctx, src.category, opts...)
	case src.kind == sourceCategory:
		return s.ReadCategory(ctx, src.category, opts...)
	case live:
		return s.SubscribeAll(ctx, opts...)
	default:
		return s.ReadAll(ctx, opts...)
	}
}
