package aggregatehttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/internal/clientshare"
)

// Bounds of the events endpoint.
const (
	defaultLimit = 100
	maxLimit     = 1000
	maxWait      = 60 * time.Second
	readTimeout  = 30 * time.Second // one read of the endpoint
)

func errorsIsInvalidName(err error) bool { return errors.Is(err, eventstore.ErrInvalidStreamName) }

// nameReason is what is wrong with a name, from the store's error that
// wraps ErrInvalidStreamName: the part after the sentinel's text, without
// the store's prefixes ("eventstore: read …:").
func nameReason(err error) string {
	msg := err.Error()
	marker := eventstore.ErrInvalidStreamName.Error() + ": "
	if i := strings.LastIndex(msg, marker); i >= 0 {
		return msg[i+len(marker):]
	}
	return "see the stream names of the eventstore package"
}

// eventsQuery is a parsed GET /v1/events.
type eventsQuery struct {
	stream, category string
	from             eventstore.Offset
	limit            int
	wait             time.Duration
}

func parseEventsQuery(r *http.Request) (eventsQuery, error) {
	q := r.URL.Query()
	eq := eventsQuery{stream: q.Get("stream"), category: q.Get("category"), from: eventstore.Start, limit: defaultLimit}
	if (eq.stream == "") == (eq.category == "") {
		return eventsQuery{}, badRequest("give stream=<name> or category=<category>, one of them")
	}
	if v := q.Get("from"); v != "" {
		o, err := eventstore.ParseOffset(v)
		if err != nil {
			return eventsQuery{}, badRequest(fmt.Sprintf("from=%q is not an offset (-1, now, or one the store gave)", v))
		}
		eq.from = o
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return eventsQuery{}, badRequest(fmt.Sprintf("limit=%q is not a number from 1 to %d", v, maxLimit))
		}
		eq.limit = n
	}
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > maxWait {
			return eventsQuery{}, badRequest(fmt.Sprintf("wait=%q is not a duration from 0s to %v", v, maxWait))
		}
		eq.wait = d
	}
	return eq, nil
}

func (r *Registry) serveEvents(w http.ResponseWriter, req *http.Request) {
	q, err := parseEventsQuery(req)
	if err != nil {
		fail(w, req, err)
		return
	}
	ctx := req.Context()
	if q.from == eventstore.Now {
		// A client following from now needs a position it can send back.
		if q.from, err = r.store.Tail(ctx); err != nil {
			fail(w, req, err)
			return
		}
	}
	out, err := r.readEvents(ctx, q)
	if err == nil && len(out.Events) == 0 && q.wait > 0 && !out.Closed {
		if err = r.waitEvents(ctx, q, clientshare.Key(req)); err == nil {
			out, err = r.readEvents(ctx, q)
		}
	}
	if err != nil {
		if errorsIsInvalidName(err) {
			err = badRequest("invalid stream or category name: " + nameReason(err))
		}
		fail(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// readEvents reads up to q.limit events after q.from.
func (r *Registry) readEvents(ctx context.Context, q eventsQuery) (Events, error) {
	done, err := r.waits.startRead(ctx)
	if err != nil {
		return Events{}, err
	}
	defer done()
	// A read asks the store's server for the log's end; without a
	// deadline of its own it gets the client library's 5 s, which a
	// server busy with a thousand woken waiters can pass.
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	var seq iter.Seq2[eventstore.Event, error]
	if q.stream != "" {
		seq = r.store.Read(ctx, q.stream, eventstore.From(q.from))
	} else {
		seq = r.store.ReadCategory(ctx, q.category, eventstore.From(q.from))
	}
	out := Events{Events: []StoredEvent{}, Next: string(q.from)}
	for e, err := range seq {
		if err != nil {
			return Events{}, err
		}
		out.Events = append(out.Events, storedEvent(e))
		out.Next = string(e.Offset)
		if len(out.Events) == q.limit {
			break
		}
	}
	if q.stream != "" && len(out.Events) < q.limit {
		// The page reached the stream's end: a closed stream's is final.
		h, err := r.store.Head(ctx, q.stream)
		if err != nil {
			return Events{}, err
		}
		out.Closed = h.Closed && out.Next >= string(h.Offset)
	}
	return out, nil
}

// storedEvent is a stored event as the events endpoint gives it.
func storedEvent(e eventstore.Event) StoredEvent {
	data := json.RawMessage(e.Data)
	if !json.Valid(e.Data) {
		data, _ = json.Marshal(e.Data) // base64 of the bytes
	}
	meta := e.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	return StoredEvent{Stream: e.Stream, Version: e.Version, Offset: string(e.Offset), Type: e.Type,
		StoredAt: formatTime(e.StoredAt), ID: e.ID.String(), Time: formatTime(e.Time), CommandID: e.CommandID,
		Metadata: meta, Data: data}
}
