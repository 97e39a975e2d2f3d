package aggregatehttp

import (
	"fmt"
	"net/http"
	"strconv"
)

// instance finds the request's aggregate type and checks its id.
func (r *Registry) instance(req *http.Request) (*aggregateType, string, string, error) {
	category, id := req.PathValue("category"), req.PathValue("id")
	t, ok := r.lookup(category)
	if !ok {
		return nil, "", "", notFound(fmt.Sprintf("no aggregate type %q", category))
	}
	stream, err := t.ops.streamOf(id)
	if err != nil {
		return nil, "", "", err
	}
	return t, id, stream, nil
}

func (r *Registry) serveCommand(w http.ResponseWriter, req *http.Request) {
	category := req.PathValue("category")
	t, ok := r.lookup(category)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no aggregate type %q", category))
		return
	}
	key, err := idempotencyKey(req)
	if err != nil {
		fail(w, req, err)
		return
	}
	typ, fields, err := readCommand(w, req)
	if err != nil {
		fail(w, req, err)
		return
	}
	handle, ok := t.commands[typ]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s has no command %q (it has %v)", category, typ, t.names))
		return
	}
	if _, err := t.ops.streamOf(req.PathValue("id")); err != nil {
		fail(w, req, err)
		return
	}
	idem, err := idempotency(key, typ, fields)
	if err != nil {
		fail(w, req, err)
		return
	}
	res, err := handle(req.Context(), req.PathValue("id"), fields, idem)
	if err != nil {
		fail(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// stateJSON is a loaded state as the answers give it.
func stateJSON(category, id, stream string, l loadedJSON) State {
	s := State{Category: category, ID: id, Stream: stream, Version: l.version, State: l.state}
	if l.version > 0 {
		at := formatTime(l.at)
		s.At = &at
	}
	return s
}

func (r *Registry) serveState(w http.ResponseWriter, req *http.Request) {
	t, id, stream, err := r.instance(req)
	if err != nil {
		fail(w, req, err)
		return
	}
	p, err := statePoint(req)
	if err != nil {
		fail(w, req, err)
		return
	}
	l, err := t.ops.state(req.Context(), id, p)
	if err != nil {
		fail(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, stateJSON(t.category, id, stream, l))
}

func (r *Registry) serveDiff(w http.ResponseWriter, req *http.Request) {
	t, id, stream, err := r.instance(req)
	if err != nil {
		fail(w, req, err)
		return
	}
	from, err := parsePoint(req, "from")
	if err != nil {
		fail(w, req, err)
		return
	}
	to, err := parsePoint(req, "to")
	if err != nil {
		fail(w, req, err)
		return
	}
	if !from.set || !to.set {
		writeError(w, http.StatusBadRequest, "give from and to, each a version or an RFC 3339 time")
		return
	}
	out := Diff{Events: []Event{}}
	before, after, err := t.ops.history(req.Context(), id, from, to, func(s step) error {
		if len(out.Events) == maxDiffEvents {
			out.More++ // counted, not held: the answer's size has a bound
			return nil
		}
		out.Events = append(out.Events, eventJSON(s.event, s.value, s.changes))
		return nil
	})
	if err != nil {
		fail(w, req, err)
		return
	}
	if out.Changes, err = diffJSON(before.state, after.state); err != nil {
		fail(w, req, err)
		return
	}
	out.From, out.To = stateJSON(t.category, id, stream, before), stateJSON(t.category, id, stream, after)
	writeJSON(w, http.StatusOK, out)
}

func (r *Registry) serveAggregates(w http.ResponseWriter, _ *http.Request) {
	out := Aggregates{Aggregates: []AggregateInfo{}}
	for _, t := range r.sorted() {
		out.Aggregates = append(out.Aggregates, AggregateInfo{Category: t.category, Commands: append([]string{}, t.names...),
			CommandTypes: append([]CommandType{}, t.schemas...), EventTypes: append([]EventType{}, t.events...)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (r *Registry) serveStreams(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	after, limit := q.Get("after"), defaultStreamsLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxStreamsLimit {
			fail(w, req, badRequest(fmt.Sprintf("limit=%q is not a number from 1 to %d", v, maxStreamsLimit)))
			return
		}
		limit = n
	}
	total := false
	switch v := q.Get("total"); v {
	case "", "false", "0":
	case "true", "1":
		total = true
	default:
		fail(w, req, badRequest(fmt.Sprintf("total=%q is not true or false", v)))
		return
	}
	out := Streams{Streams: []StreamInfo{}}
	count := 0
	for info, err := range r.store.Streams(req.Context(), q.Get("category")) {
		if err != nil {
			if errorsIsInvalidName(err) {
				err = badRequest(fmt.Sprintf("invalid category %q", q.Get("category")))
			}
			fail(w, req, err)
			return
		}
		count++
		if info.Name <= after && after != "" {
			continue
		}
		if len(out.Streams) == limit {
			if out.Next == nil {
				next := out.Streams[len(out.Streams)-1].Name
				out.Next = &next
			}
			if !total {
				break
			}
			continue
		}
		out.Streams = append(out.Streams, StreamInfo{Name: info.Name, Version: info.Version, Offset: string(info.Offset),
			StoredAt: formatTime(info.StoredAt), Closed: info.Closed})
	}
	if total {
		out.Total = &count
	}
	writeJSON(w, http.StatusOK, out)
}

// Bounds of the streams endpoint.
const (
	defaultStreamsLimit = 1000
	maxStreamsLimit     = 1000
)
