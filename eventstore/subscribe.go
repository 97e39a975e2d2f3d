package eventstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// Subscriptions catch up and then go live over the same iterator. The
// switch is exact: the catch-up part reads the read index up to a known
// log position, the one up to which it holds every commit (a stream's
// commits, for one stream; the log-ordered copy, for a category or
// everything), the live part reads the log from right after it, and every
// event is delivered only if its offset is after the last one delivered.
// Nothing is delivered twice and nothing is skipped, however fast others
// append while the subscriber switches. A stream the live part meets first
// is taken to be at its version as of that position, which the index
// gives; its next commit must follow it.
//
// A subscription runs until ctx is done, the loop breaks, an upper bound
// (ToVersion, ToOffset, ToTime) is passed, or an error is yielded (the
// store closed, the server unreachable). Ending because ctx is done is not
// an error: the iterator just stops. To resume, subscribe again From the
// offset of the last event handled.

// Subscribe delivers the events of one stream from the From (or
// FromVersion) bound, then every event appended to it afterwards.
func (s *Store) Subscribe(ctx context.Context, stream string, opts ...ReadOption) iter.Seq2[Event, error] {
	return s.observeSubscription(kindStream, func(yield func(Event, error) bool) {
		err := s.subscribeStream(ctx, stream, opts, yield)
		if err != nil && err != errStop && !(ctx.Err() != nil && errors.Is(err, ctx.Err())) {
			yield(Event{}, fmt.Errorf("eventstore: subscribe to %q: %w", stream, err))
		}
	})
}

func (s *Store) subscribeStream(ctx context.Context, stream string, opts []ReadOption, yield func(Event, error) bool) error {
	b, err := parseBounds(opts)
	if err != nil {
		return err
	}
	subj, err := subjectFor(s.prefix, stream)
	if err != nil {
		return err
	}
	spec := consumeSpec{filters: []string{subj}}
	var base uint64
	if b.fromNow {
		last, err := s.logLastSeq(ctx)
		if err != nil {
			return err
		}
		b.after = position{seq: last, idx: maxOffsetIdx}
		spec.startSeq = last + 1
	} else {
		covered, err := s.readIndexed(ctx, stream, &b, yield)
		if err != nil || b.ended {
			return err
		}
		// The live part goes on from the stream's version where the index
		// left off (as of covered exactly, not of where the index is now).
		spec.startSeq, base = covered+1, covered
	}
	if b.toVersion > 0 {
		// A stream at ToVersion or past it has nothing left to deliver:
		// its next commit, whenever it comes, is after the bound.
		v, err := s.versionAt(ctx, stream, spec.startSeq-1)
		if err != nil || v >= b.toVersion {
			return err
		}
	}
	return s.followLog(ctx, spec, &b, base, yield)
}

// SubscribeCategory delivers the events of every stream in a category, in
// log order, from the From bound on, then live.
func (s *Store) SubscribeCategory(ctx context.Context, category string, opts ...ReadOption) iter.Seq2[Event, error] {
	return s.observeSubscription(kindCategory, func(yield func(Event, error) bool) {
		filters, err := categoryFilters(s.prefix, category)
		if err == nil {
			sel := logSelection{filters: filters, indexed: true, match: matchCategory(category)}
			err = s.readLog(ctx, sel, opts, true, yield)
		}
		if err != nil && !(ctx.Err() != nil && errors.Is(err, ctx.Err())) {
			yield(Event{}, fmt.Errorf("eventstore: subscribe to category %q: %w", category, err))
		}
	})
}

// SubscribeAll delivers every event in the log, in log order, from the From
// bound on, then live.
func (s *Store) SubscribeAll(ctx context.Context, opts ...ReadOption) iter.Seq2[Event, error] {
	return s.observeSubscription(kindAll, func(yield func(Event, error) bool) {
		err := s.readLog(ctx, logSelection{indexed: true}, opts, true, yield)
		if err != nil && !(ctx.Err() != nil && errors.Is(err, ctx.Err())) {
			yield(Event{}, fmt.Errorf("eventstore: subscribe to all: %w", err))
		}
	})
}

// MaxListedStreams bounds the streams one ReadStreams or SubscribeStreams
// names: each is a subject filter of one server-side consumer.
const MaxListedStreams = 1000

// streamFilters returns the subjects of a list of streams.
func (s *Store) streamFilters(streams []string) ([]string, error) {
	if len(streams) == 0 || len(streams) > MaxListedStreams {
		return nil, fmt.Errorf("%w: %d streams (1 to %d)", ErrInvalidOption, len(streams), MaxListedStreams)
	}
	seen := make(map[string]bool, len(streams))
	var filters []string
	for _, name := range streams {
		subj, err := subjectFor(s.prefix, name)
		if err != nil {
			return nil, err
		}
		if !seen[subj] {
			seen[subj] = true
			filters = append(filters, subj)
		}
	}
	return filters, nil
}

// ReadStreams returns the events of a list of streams (1 to 1,000), in log
// order, up to the log's end when the read began: what one read of each
// would give, merged in the order they were stored. Bounds: From,
// ToOffset, ToTime.
func (s *Store) ReadStreams(ctx context.Context, streams []string, opts ...ReadOption) iter.Seq2[Event, error] {
	return s.observeLogRead(ctx, kindStreams, "", func(yield func(Event, error) bool) {
		filters, err := s.streamFilters(streams)
		if err == nil {
			err = s.readLog(ctx, logSelection{filters: filters}, opts, false, yield)
		}
		if err != nil {
			yield(Event{}, fmt.Errorf("eventstore: read streams: %w", err))
		}
	})
}

// SubscribeStreams delivers the events of a list of streams (1 to 1,000),
// in log order, from the From bound on, then live.
func (s *Store) SubscribeStreams(ctx context.Context, streams []string, opts ...ReadOption) iter.Seq2[Event, error] {
	return s.observeSubscription(kindStreams, func(yield func(Event, error) bool) {
		filters, err := s.streamFilters(streams)
		if err == nil {
			err = s.readLog(ctx, logSelection{filters: filters}, opts, true, yield)
		}
		if err != nil && !(ctx.Err() != nil && errors.Is(err, ctx.Err())) {
			yield(Event{}, fmt.Errorf("eventstore: subscribe to streams: %w", err))
		}
	})
}
