package aggregatehttp

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/rewindhq/rewind/aggregate"
	"github.com/rewindhq/rewind/eventstore"
)

// Bounds of the timeline endpoint.
const (
	defaultTimelineLimit = 1000
	maxTimelineLimit     = 1000
	// maxAxis bounds the versions whose times one answer gives: past it
	// the axis is left out and the answer says so (axisTruncated).
	maxAxis = 1_000_000
)

// Bounds of the answers that walk a history: a diff lists at most
// maxDiffEvents of the events between its two points (and counts the
// rest), an export replays at most maxExportEvents. Each answer is held
// whole before it is written, so without them its size followed the
// instance's history (a diff of 20,000 events was 9 MB).
const (
	maxDiffEvents   = 1000
	maxExportEvents = 10_000
)

// timelineQuery is a parsed GET /v1/timeline: the first version of the
// page, how many events, and whether the axis is wanted.
type timelineQuery struct {
	from  uint64
	limit int
	axis  bool
}

func parseTimelineQuery(r *http.Request) (timelineQuery, error) {
	q := r.URL.Query()
	tq := timelineQuery{from: 1, limit: defaultTimelineLimit}
	if v := q.Get("from"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n < 1 {
			return tq, badRequest(fmt.Sprintf("from=%q is not a version (1, 2, ...)", v))
		}
		tq.from = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxTimelineLimit {
			return tq, badRequest(fmt.Sprintf("limit=%q is not a number from 1 to %d", v, maxTimelineLimit))
		}
		tq.limit = n
	}
	switch v := q.Get("axis"); v {
	case "", "false", "0":
	case "true", "1":
		tq.axis = true
	default:
		return tq, badRequest(fmt.Sprintf("axis=%q is not true or false", v))
	}
	return tq, nil
}

// Axis is the store time of every version of a stream, compact: Start is
// the time of version 1 and Ms[i] the milliseconds from version i's time
// to version i+1's (Ms[0] is 0), so version v is at Start plus the sum of
// Ms[0..v-1], to the millisecond however many versions there are. Deltas are small numbers where events are close, and a
// 10,000-event stream's axis is tens of kilobytes.
type Axis struct {
	Start string  `json:"start"`
	Ms    []int64 `json:"ms"`
}

func (r *Registry) serveTimeline(w http.ResponseWriter, req *http.Request) {
	t, id, stream, err := r.instance(req)
	if err != nil {
		fail(w, req, err)
		return
	}
	q, err := parseTimelineQuery(req)
	if err != nil {
		fail(w, req, err)
		return
	}
	head, err := r.store.Head(req.Context(), stream)
	if err != nil {
		fail(w, req, err)
		return
	}
	if head.Version == 0 {
		fail(w, req, notFound(fmt.Sprintf("%s has no events", stream)))
		return
	}
	if q.from > head.Version {
		fail(w, req, badRequest(fmt.Sprintf("from=%d is past the stream's version %d", q.from, head.Version)))
		return
	}
	to := min(head.Version, q.from+uint64(q.limit)-1)
	out := Timeline{Category: t.category, ID: id, Stream: stream, Version: head.Version, From: q.from, Events: []Event{}}
	err = t.ops.walk(req.Context(), id, q.from, to, func(s step) error {
		out.Events = append(out.Events, eventJSON(s.event, s.value, s.changes))
		return nil
	})
	if err != nil {
		fail(w, req, err)
		return
	}
	if n := uint64(len(out.Events)); n > 0 && q.from+n-1 < head.Version {
		next := q.from + n
		out.Next = &next
	}
	if q.axis {
		if out.Axis, err = r.axis(req.Context(), stream, head); err != nil {
			fail(w, req, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// walk loads the state before version from (from a snapshot, at most a
// snapshot interval of events replayed) and walks the events from..to,
// calling fn with each and the fields of the state it changed.
func (t *typed[S, E]) walk(ctx context.Context, id string, from, to uint64, fn func(step) error) error {
	stream, err := t.streamOf(id)
	if err != nil {
		return err
	}
	start, err := t.repo.LoadVersion(ctx, id, from-1)
	if err != nil {
		return err
	}
	return t.fold(ctx, stream, start, to, fn)
}

// fold evolves start through the events after its version up to version
// to, calling fn with each and the fields of the state it changed.
func (t *typed[S, E]) fold(ctx context.Context, stream string, start aggregate.Loaded[S], to uint64, fn func(step) error) error {
	prev, err := marshalJSON(start.State)
	if err != nil {
		return fmt.Errorf("encode the state: %w", err)
	}
	diff := newDiffer(prev)
	state := start.State
	if to <= start.Version {
		return nil
	}
	for e, err := range t.store.Read(ctx, stream, eventstore.FromVersion(start.Version+1), eventstore.ToVersion(to)) {
		if err != nil {
			return err
		}
		value, err := t.def.Decode(e)
		if err != nil {
			return err
		}
		if state, err = evolve(t.def, state, e, value); err != nil {
			return err
		}
		next, err := marshalJSON(state)
		if err != nil {
			return fmt.Errorf("encode the state: %w", err)
		}
		changes, err := diff.next(next)
		if err != nil {
			return err
		}
		if err := fn(step{event: e, value: value, changes: changes}); err != nil {
			return err
		}
	}
	return nil
}
