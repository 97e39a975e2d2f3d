package aggregatehttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/rewindhq/rewind/eventstore"
)

// Bounds of the search endpoint.
const (
	defaultSearchLimit = 50
	maxSearchLimit     = 500
	// maxSearchScan bounds the events one request looks at: a search
	// through more of the category answers what it found with a cursor
	// to go on from, so no request runs for long.
	maxSearchScan = 20000
	maxSearchArg  = 1024 // bytes of a query parameter
)

// searchQuery is a parsed GET /v1/search: the category, the filters (all
// of those given must hold), where to start and how much to answer.
type searchQuery struct {
	category  string
	typ       string
	path      []string // field's JSON path, split on "."
	value     json.RawMessage
	eventID   string
	commandID string
	from      eventstore.Offset
	limit     int
}

func parseSearchQuery(r *http.Request) (searchQuery, error) {
	q := r.URL.Query()
	sq := searchQuery{category: q.Get("category"), typ: q.Get("type"), eventID: q.Get("eventId"),
		commandID: q.Get("commandId"), from: eventstore.Start, limit: defaultSearchLimit}
	for k, vs := range q {
		if len(vs) != 1 {
			return sq, badRequest(fmt.Sprintf("give %s once", k))
		}
		if len(vs[0]) > maxSearchArg {
			return sq, badRequest(fmt.Sprintf("%s is over %d bytes", k, maxSearchArg))
		}
	}
	if sq.category == "" || strings.Contains(sq.category, "/") {
		return sq, badRequest("give category=<category>, one segment (orders, not orders/ord-1)")
	}
	if sq.eventID != "" {
		id, err := uuid.Parse(sq.eventID)
		if err != nil {
			return sq, badRequest(fmt.Sprintf("eventId=%q is not a UUID", sq.eventID))
		}
		sq.eventID = id.String()
	}
	field, value := q.Get("field"), q.Get("value")
	switch {
	case field == "" && value != "":
		return sq, badRequest("value= needs field=<JSON path> (items.mug.quantity)")
	case field != "":
		sq.path = strings.Split(field, ".")
		if slicesContainsEmpty(sq.path) {
			return sq, badRequest(fmt.Sprintf("field=%q is not a JSON path (keys joined by \".\")", field))
		}
		// The value is JSON (7, true, "mug", null); anything else is taken
		// as a string, so value=mug finds "mug".
		var v any = value
		if json.Valid([]byte(value)) && value != "" {
			dec := json.NewDecoder(strings.NewReader(value))
			dec.UseNumber()
			if dec.Decode(&v) != nil {
				v = value
			}
		}
		sq.value = canonicalJSON(v)
	}
	if sq.typ == "" && sq.path == nil && sq.eventID == "" && sq.commandID == "" {
		return sq, badRequest("give at least one of type=, field= and value=, eventId=, commandId=")
	}
	if v := q.Get("cursor"); v != "" {
		o, err := eventstore.ParseOffset(v)
		if err != nil || o == eventstore.Now {
			return sq, badRequest(fmt.Sprintf("cursor=%q is not a cursor an answer gave", v))
		}
		sq.from = o
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSearchLimit {
			return sq, badRequest(fmt.Sprintf("limit=%q is not a number from 1 to %d", v, maxSearchLimit))
		}
		sq.limit = n
	}
	return sq, nil
}

func slicesContainsEmpty(s []string) bool {
	for _, x := range s {
		if x == "" {
			return true
		}
	}
	return false
}

// canonicalJSON encodes a decoded JSON value (numbers as json.Number) in
// one form for every way of writing it, so that a search's value and an
// event's compare as JSON values, not as texts: strings with their
// characters as they are ("R&D", "café", whichever escapes wrote them),
// numbers by their value (1e2 is 100), object keys sorted.
func canonicalJSON(v any) []byte {
	b, _ := marshalJSON(canonicalNumbers(v))
	return b
}

// canonicalNumbers rewrites the numbers of v to one text per value.
func canonicalNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		f, _, err := big.ParseFloat(string(t), 10, 512, big.ToNearestEven)
		if err != nil {
			return t
		}
		return json.Number(f.Text('g', -1))
	case map[string]any:
		for k, x := range t {
			t[k] = canonicalNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = canonicalNumbers(x)
		}
	}
	return v
}

// SearchResult is a page of a search: the events found, in log order,
// the cursor to go on from (the offset after the last event looked at),
// how many events this request looked at, and whether it reached the
// category's end (then cursor is where new events will be).
type SearchResult struct {
	Events  []StoredEvent `json:"events"`
	Cursor  string        `json:"cursor"`
	Scanned int           `json:"scanned"`
	End     bool          `json:"end"`
}

func (r *Registry) serveSearch(w http.ResponseWriter, req *http.Request) {
	q, err := parseSearchQuery(req)
	if err != nil {
		fail(w, req, err)
		return
	}
	ctx := req.Context()
	done, err := r.waits.startRead(ctx)
	if err != nil {
		fail(w, req, err)
		return
	}
	search := r.search
	if q.eventID != "" {
		search = r.searchEventID
	}
	out, err := search(ctx, q)
	// The read's slot is given back before the answer is written: a
	// client that does not read its answer must not hold it.
	done()
	if err != nil {
		fail(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// search scans the category for the events q matches.
func (r *Registry) search(ctx context.Context, q searchQuery) (SearchResult, error) {
	out := SearchResult{Events: []StoredEvent{}, Cursor: string(q.from), End: true}
	for e, err := range r.store.ReadCategory(ctx, q.category, eventstore.From(q.from)) {
		if err != nil {
			if errorsIsInvalidName(err) {
				err = badRequest(fmt.Sprintf("invalid category %q", q.category))
			}
			return SearchResult{}, err
		}
		out.Scanned++
		out.Cursor = string(e.Offset)
		if q.match(e) {
			out.Events = append(out.Events, storedEvent(e))
		}
		if len(out.Events) == q.limit || out.Scanned == maxSearchScan {
			out.End = false
			break
		}
	}
	return out, nil
}

// searchEventID answers a search with an event id from the store's
// event-id index (a few reads, whatever the category's size) instead
// of a scan: the event, if it is in the category, after the cursor, and
// passes the other filters. An id is one event, so the answer is whole
// (End), and its cursor is the log's end, where new events will be.
func (r *Registry) searchEventID(ctx context.Context, q searchQuery) (SearchResult, error) {
	tail, err := r.store.Tail(ctx)
	if err != nil {
		return SearchResult{}, err
	}
	out := SearchResult{Events: []StoredEvent{}, Cursor: string(tail), End: true}
	e, err := r.store.EventByID(ctx, uuid.MustParse(q.eventID)) // parseSearchQuery checked it
	switch {
	case errors.Is(err, eventstore.ErrNotFound):
	case err != nil:
		return SearchResult{}, err
	default:
		out.Scanned = 1
		if inCategory(e.Stream, q.category) && e.Offset > q.from && e.Offset <= tail && q.match(e) {
			out.Events = append(out.Events, storedEvent(e))
		}
	}
	return out, nil
}

// match reports whether e passes every filter of q.
func (q searchQuery) match(e eventstore.Event) bool {
	switch {
	case q.typ != "" && e.Type != q.typ:
		return false
	case q.commandID != "" && e.CommandID != q.commandID:
		return false
	case q.eventID != "" && e.ID.String() != q.eventID:
		return false
	case q.path != nil:
		return fieldIs(e.Data, q.path, q.value)
	}
	return true
}

// fieldIs reports whether the JSON data holds want at path.
func fieldIs(data []byte, path []string, want json.RawMessage) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return false
	}
	for _, k := range path {
		switch t := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = t[k]; !ok {
				return false
			}
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(t) {
				return false
			}
			v = t[i]
		default:
			return false
		}
	}
	got := canonicalJSON(v)
	return got != nil && bytes.Equal(got, want)
}

// inCategory reports whether stream is in category: the stream named as
// the category, or one under it, as the store's category reads have it.
func inCategory(stream, category string) bool {
	return stream == category || strings.HasPrefix(stream, category+"/")
}
