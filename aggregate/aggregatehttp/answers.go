package aggregatehttp

import (
	"encoding/json"
	"time"
)

// The JSON shapes of the answers. Times are RFC 3339 with nanoseconds, in
// UTC; "at" and "storedAt" are store times (eventstore.Event.StoredAt).

// Change is one field of the state that differs between two states: its
// path (object keys joined by ".", array indexes as numbers; "" for a state
// that is not an object), and its value before and after. A field that was
// added has From null; one that was removed has To null.
type Change struct {
	Path string          `json:"path"`
	From json.RawMessage `json:"from"`
	To   json.RawMessage `json:"to"`
}

// Event is one event of an aggregate's stream, with the fields of the
// state it changed and its details: its id, the producer's time, the
// command id its Append recorded ("" if none: a command sent with an
// Idempotency-Key records the key) and its metadata.
type Event struct {
	Version   uint64            `json:"version"`
	Offset    string            `json:"offset"`
	Type      string            `json:"type"`
	StoredAt  string            `json:"storedAt"`
	ID        string            `json:"id"`
	Time      string            `json:"time"`
	CommandID string            `json:"commandId"`
	Metadata  map[string]string `json:"metadata"`
	Data      json.RawMessage   `json:"data"`
	Changes   []Change          `json:"changes"`
}

// State is an instance's state as of a version: At is the store time of
// the event at Version (null at version 0).
type State struct {
	Category string          `json:"category"`
	ID       string          `json:"id"`
	Stream   string          `json:"stream"`
	Version  uint64          `json:"version"`
	At       *string         `json:"at"`
	State    json.RawMessage `json:"state"`
}

// Diff is what changed between two states of one instance, and the events
// that changed it (those after From's version, up to To's): the first
// 1,000 of them in Events, and how many more there are in More (the
// timeline lists them a page at a time).
type Diff struct {
	From    State    `json:"from"`
	To      State    `json:"to"`
	Changes []Change `json:"changes"`
	Events  []Event  `json:"events"`
	More    uint64   `json:"more"`
}

// Timeline is a page of an instance's events, each with its changes:
// Version is the stream's version (how many versions it has), From the
// version of the first event of the page, Next that of the next page's
// (null on the last page), and Axis, when asked for, the store time of
// every version.
type Timeline struct {
	Category string  `json:"category"`
	ID       string  `json:"id"`
	Stream   string  `json:"stream"`
	Version  uint64  `json:"version"`
	From     uint64  `json:"from"`
	Next     *uint64 `json:"next"`
	Events   []Event `json:"events"`
	Axis     *Axis   `json:"axis,omitempty"`
}

// CommandResult is the answer to a command: the stream's version after it,
// the offset after its last event (when it decided nothing, the offset of
// the event at that version, the stream's head then: a retry later gets
// the same), whether it is a retry of a command handled before (then
// nothing was stored now and the rest is the original answer), and its
// events.
type CommandResult struct {
	Version   uint64  `json:"version"`
	Offset    string  `json:"offset"`
	Duplicate bool    `json:"duplicate"`
	Events    []Event `json:"events"`
}

// commandAnswer is what a commandFunc returns.
type commandAnswer = CommandResult

// Aggregates lists the registered aggregate types.
type Aggregates struct {
	Aggregates []AggregateInfo `json:"aggregates"`
}

// AggregateInfo is one registered aggregate type: its commands' names,
// each command with the JSON Schema of its request body, and its event
// types with the JSON Schema of their data, all sorted by name.
type AggregateInfo struct {
	Category     string        `json:"category"`
	Commands     []string      `json:"commands"`
	CommandTypes []CommandType `json:"commandTypes"`
	EventTypes   []EventType   `json:"eventTypes"`
}

// CommandType is one command an aggregate accepts: its name (the body's
// "type") and the JSON Schema of its body, "type" included.
type CommandType struct {
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
}

// EventType is one event type of an aggregate: its stable name, its
// current schema version (aggregate.Schema) and the JSON Schema of
// its data.
type EventType struct {
	Name    string          `json:"name"`
	Version int             `json:"version"`
	Schema  json.RawMessage `json:"schema"`
}

// Streams is a page of streams with their heads, in name order: Next is
// the name to give as after= for the next page (null on the last), Total
// the number of streams listed without paging (only when asked for with
// total=true; null otherwise).
type Streams struct {
	Streams []StreamInfo `json:"streams"`
	Next    *string      `json:"next"`
	Total   *int         `json:"total,omitempty"`
}

// StreamInfo is one stream's name and head (eventstore.StreamInfo).
type StreamInfo struct {
	Name     string `json:"name"`
	Version  uint64 `json:"version"`
	Offset   string `json:"offset"`
	StoredAt string `json:"storedAt"`
	Closed   bool   `json:"closed"`
}

// Events is a page of stored events and the offset to read on from.
type Events struct {
	Events []StoredEvent `json:"events"`
	Next   string        `json:"next"`
	// Closed, for one stream, says the stream is closed and the page
	// reaches its end: nothing will ever come after Next, so a wait
	// answers at once and a follower stops.
	Closed bool `json:"closed,omitempty"`
}

// StoredEvent is one stored event as the events and search endpoints give
// it, with its details as in Event (id, time, commandId, metadata). Data is
// the event's JSON, or a JSON string of its bytes (base64) when they are
// not JSON.
type StoredEvent struct {
	Stream    string            `json:"stream"`
	Version   uint64            `json:"version"`
	Offset    string            `json:"offset"`
	Type      string            `json:"type"`
	StoredAt  string            `json:"storedAt"`
	ID        string            `json:"id"`
	Time      string            `json:"time"`
	CommandID string            `json:"commandId"`
	Metadata  map[string]string `json:"metadata"`
	Data      json.RawMessage   `json:"data"`
}

// formatTime formats a store time as the answers give it.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
