package eventstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"time"

	"github.com/rewindhq/rewind/observe"
)

// MetaTraceParent is the metadata key under which an Append made under a
// traced span (WithObserver with a tracer provider) records the span's
// W3C traceparent in each event that has none: an event's causation is
// then found from a trace, and a trace from an event.
const MetaTraceParent = observe.MetadataKey

// TraceParent returns the event's W3C traceparent metadata, if any.
func (e Event) TraceParent() string { return e.Metadata[MetaTraceParent] }

// WithObserver makes the store report to o: metrics of its appends,
// reads, subscriptions, read index and group commit, and spans of Append
// and the reads (see package observe for both lists). The aggregate
// repositories and the projection runners made on the store report to o
// too. Without it (the default) the store observes nothing, at no cost:
// Append, the reads and the subscriptions check one pointer.
func WithObserver(o *observe.Observer) Option {
	return func(c *config) error {
		if o == nil {
			return fmt.Errorf("%w: nil observer", ErrInvalidOption)
		}
		c.observer = o
		return nil
	}
}

// Observer returns the Observer given with WithObserver, or nil.
func (s *Store) Observer() *observe.Observer { return s.cfg.observer }

// observedAppend is Append under the store's Observer: a span (whose
// traceparent goes into the events' metadata) and the append metrics.
func (s *Store) observedAppend(ctx context.Context, stream string, events []Event, opts []AppendOption) (AppendResult, error) {
	var ac appendConfig
	for _, opt := range opts {
		if opt != nil {
			opt(&ac)
		}
	}
	return s.observeAppend(ctx, stream, events, ac.producer != nil, func(ctx context.Context, events []Event) (AppendResult, error) {
		return s.append(ctx, stream, events, opts)
	})
}

// observeAppend runs do, one append of events to stream (a Producer's
// batch when producer is true), under an append span, and counts it.
func (s *Store) observeAppend(ctx context.Context, stream string, events []Event, producer bool,
	do func(context.Context, []Event) (AppendResult, error)) (AppendResult, error) {
	o := s.cfg.observer
	ctx, span := o.StartAppend(ctx, stream, len(events))
	if tp := o.TraceParent(ctx); tp != "" {
		events = withTraceParent(events, tp)
	}
	res, err := do(ctx, events)
	rep := observe.AppendReport{Outcome: appendOutcome(res, err), Version: res.Version, Err: err}
	if rep.Outcome == observe.AppendOK {
		rep.Events = len(events)
		for i := range events {
			rep.Bytes += len(events[i].Data)
			for k, v := range events[i].Metadata {
				rep.Bytes += len(k) + len(v)
			}
		}
	}
	if rep.Outcome == observe.AppendDuplicate {
		rep.Producer = producer
	}
	if errors.Is(err, ErrIndexStalled) {
		o.IndexStalled()
	}
	o.EndAppend(span, rep)
	return res, err
}

// appendOutcome classifies an append's result for the metrics.
func appendOutcome(res AppendResult, err error) string {
	switch {
	case err == nil && res.Duplicate:
		return observe.AppendDuplicate
	case err == nil:
		return observe.AppendOK
	case errors.Is(err, ErrConcurrency):
		return observe.AppendConflict
	case errors.Is(err, ErrStaleEpoch):
		return observe.AppendFenced
	case errors.Is(err, ErrSequenceGap):
		return observe.AppendGap
	case errors.Is(err, ErrStreamClosed):
		return observe.AppendClosed
	case errors.Is(err, ErrInvalidEvent), errors.Is(err, ErrInvalidStreamName), errors.Is(err, ErrTooLarge),
		errors.Is(err, ErrInvalidOption), errors.Is(err, ErrInvalidProducer):
		return observe.AppendInvalid
	}
	return observe.AppendError
}

// withTraceParent returns a copy of events whose metadata carries tp
// under MetaTraceParent, unless an event has one already. The caller's
// events and maps are not modified.
func withTraceParent(events []Event, tp string) []Event {
	out := make([]Event, len(events))
	for i, e := range events {
		if _, ok := e.Metadata[MetaTraceParent]; !ok {
			m := make(map[string]string, len(e.Metadata)+1)
			for k, v := range e.Metadata {
				m[k] = v
			}
			m[MetaTraceParent] = tp
			e.Metadata = m
		}
		out[i] = e
	}
	return out
}

// observedRead is Read under the store's Observer.
func (s *Store) observedRead(ctx context.Context, stream string, opts []ReadOption) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		o := s.cfg.observer
		ctx, span := o.StartRead(ctx, stream)
		n, failed := relay(s.read(ctx, stream, opts), yield)
		if errors.Is(failed, ErrIndexStalled) {
			o.IndexStalled()
		}
		o.EndRead(span, n, failed)
	}
}

// relay passes read's events and errors on to yield until either stops,
// and returns how many events it passed and the last error among them.
func relay(read iter.Seq2[Event, error], yield func(Event, error) bool) (n int, failed error) {
	for e, err := range read {
		if err != nil {
			failed = err
		} else {
			n++
		}
		if !yield(e, err) {
			break
		}
	}
	return n, failed
}

// The kinds of reads and subscriptions the Observer counts apart.
const (
	kindStream   = observe.ReadStream
	kindCategory = observe.ReadCategory
	kindAll      = observe.ReadAll
	kindStreams  = observe.ReadStreams
)

// observeLogRead is read, a read in log order of kind (name: its
// category, or ""), under the store's Observer; without one it is read
// itself.
func (s *Store) observeLogRead(ctx context.Context, kind, name string, read iter.Seq2[Event, error]) iter.Seq2[Event, error] {
	o := s.cfg.observer
	if o == nil {
		return read
	}
	return func(yield func(Event, error) bool) {
		_, span := o.StartLogRead(ctx, kind, name)
		n, failed := relay(read, yield)
		if errors.Is(failed, ErrIndexStalled) {
			o.IndexStalled()
		}
		o.EndLogRead(span, kind, n, failed)
	}
}

// observeSubscription is sub, a subscription of kind, counted by the
// store's Observer; without one that counts metrics it is sub itself.
func (s *Store) observeSubscription(kind string, sub iter.Seq2[Event, error]) iter.Seq2[Event, error] {
	o := s.cfg.observer
	if !o.Metrics() {
		return sub
	}
	return func(yield func(Event, error) bool) {
		c := o.StartSubscription(kind)
		defer c.End()
		sub(func(e Event, err error) bool {
			if err == nil {
				c.Delivered(e.StoredAt)
			}
			return yield(e, err)
		})
	}
}

// watchIndex shows the read index to the Observer's scrapes, until the
// store closes.
func (s *Store) watchIndex() {
	o := s.cfg.observer
	if !o.Metrics() {
		return
	}
	stop := o.WatchIndex(&observe.IndexSource{Store: s.jsName, Log: s.logID, State: s.indexState})
	context.AfterFunc(s.ctx, stop)
}

// indexState is the read index's position and the log's, for a scrape.
func (s *Store) indexState(ctx context.Context) (observe.IndexState, error) {
	x, ok := s.hold()
	if !ok {
		return observe.IndexState{}, ErrClosed
	}
	applied := x.position()
	s.release(x)
	last, err := s.heldLastSeq(ctx)
	if err != nil {
		return observe.IndexState{}, err
	}
	return observe.IndexState{Applied: applied, Log: last}, nil
}

// observe makes the group commit count its rounds on o.
func (g *groupSyncer) observe(o *observe.Observer) {
	g.mu.Lock()
	g.obs = o
	g.mu.Unlock()
}

// Ready reports whether the store can serve: it is open, the cluster (or
// the embedded server) answers a request for the log's last position
// within ctx, a replicated log has a leader that has heard from a
// majority of its replicas in the last 3 s, its appends are answered
// (and not refused for want of storage: ErrStorageFull), the read index
// can write its files and lies at most maxLag commits behind the log.
//
// A server that failed to write its files (a full disk, the process out
// of file descriptors) answers everything but appends until it restarts.
// The embedded server says so itself (its health check), and Ready
// returns its error. On a server of one's own (Connect, one replica), an
// append that went unanswered for 5 s, with none answered since, makes
// the store not ready for a minute after it; so does, on any server, an
// append refused for want of storage. A load balancer's readiness probe
// calls it (observe.Readyz). The error says what is not ready.
//
// The leader and its majority are checked because the cluster can answer
// while it stores nothing: a replica of the log that has had no leader
// for a few seconds (too few nodes up to elect one) answers the request
// for the log's position itself, from what it holds, and a leader whose
// replicas died (or are cut off) goes on answering for 10 to 20 s before
// it steps down, while every append waits for a majority that does not
// come. Either is an ErrUnavailable, as an append would fail then, and
// so would a read (a read needs the log's end from such a leader; see
// quorum.go). A healthy leader hears from every replica at least every
// 1 to 2 s, and under load at every commit, so the check does not flap;
// it says not ready within 3 s of the majority going.
func (s *Store) Ready(ctx context.Context, maxLag uint64) error {
	if s.closed.Load() {
		return ErrClosed
	}
	x, ok := s.hold()
	if !ok {
		return ErrClosed
	}
	applied := x.position()
	idxErr := x.health.check(time.Now())
	s.release(x)
	if idxErr != nil {
		return fmt.Errorf("eventstore: ready: %w", idxErr)
	}
	info, err := s.logInfo(ctx)
	if err != nil {
		return fmt.Errorf("eventstore: ready: %w", err)
	}
	if err := checkQuorum(info); err != nil {
		return fmt.Errorf("eventstore: ready: %w: %w", err, ErrUnavailable)
	}
	if s.embedded {
		// The embedded server knows when a write to its files failed:
		// the log then takes no append until the process restarts.
		if h := s.srv.Healthz(nil); h.StatusCode != http.StatusOK {
			return fmt.Errorf("eventstore: ready: the embedded server: %s (restart the process once the cause is gone): %w", h.Error, ErrUnavailable)
		}
		// And whether it has storage left, whether or not an append was
		// refused yet (and as soon as a delete gives some back).
		if used, limit := s.embeddedStorage(); limit > 0 && used >= limit {
			return fmt.Errorf("eventstore: ready: %w: the embedded server's log holds %d bytes, its storage limit (free disk space or raise WithStorageLimit, then reopen the store)",
				ErrStorageFull, used)
		}
	}
	// A server of its own that failed to write its files leaves appends
	// unanswered (a replicated log's leader steps down instead, which the
	// leader check above sees); any server out of storage refuses them.
	if err := s.writes.check(time.Now(), !s.embedded && s.replicas <= 1); err != nil {
		return fmt.Errorf("eventstore: ready: %w", err)
	}
	last := info.State.LastSeq
	if lag := last - min(applied, last); lag > maxLag {
		return fmt.Errorf("eventstore: ready: the read index is %d commits behind the log (at %d of %d; at most %d allowed)",
			lag, applied, last, maxLag)
	}
	return nil
}
