// Package aggregatehttp is the HTTP face of a server's aggregates: commands
// with idempotency keys, and the time-travel questions no event store's own
// tools answer — what an instance looked like at a version or a time, what
// changed between two points and which event changed each field — plus
// listings of streams and events and an export of a history as a
// given/when/then Go test. The rewind CLI and the time-travel page are built
// on these endpoints only, so they work against any server that mounts them.
//
// # Registering
//
// A server registers each aggregate type's repository with the commands it
// accepts, in its own main, and mounts the handler beside the Durable Streams
// one:
//
//	reg := aggregatehttp.NewRegistry(store)
//	err := aggregatehttp.Register(reg, orders,
//		aggregatehttp.NewCommand("PlaceOrder", placeOrder),
//		aggregatehttp.NewCommand("AddItem", addItem),
//	)
//	mux.Handle("/v1/stream/", durablestreams.New(store, durablestreams.ReadOnly("orders")))
//	mux.Handle("/v1/", reg.Handler())
//
// (with projectionhttp's handler at "/v1/projections" and "/v1/projections/"
// on the same mux: the longer patterns win over "/v1/"), where placeOrder is
// a func(PlaceOrder) func(Order) ([]OrderEvent, error):
// the command's JSON body decodes into its Go type, which becomes the decider
// Repository.Handle runs. Every write then goes through a decider, with its
// invariants, its concurrency check and its exactly-once command id.
//
// # Endpoints
//
// Every answer is JSON (Content-Type: application/json, with HTML's
// characters written as they are: "<Command>", not "\u003cCommand\u003e"),
// states and changes included. An event's data is given as it was stored:
// aggregate.JSON writes HTML's characters as they are, and events stored
// by an earlier version, or by another codec, keep the escapes it wrote.
// Errors are {"error": "<short reason>"} with a 4xx code, on every path
// under /v1/ this package or projectionhttp serves: an unknown path is 404,
// a known path asked with a method it does not take is 405 with an Allow
// header. A failure of the
// store is a 500 whose reason says what the client can do and gives a
// request id, never the internal error, which is logged (slog's default
// logger) with the same id. Times are RFC 3339 with nanoseconds, in UTC; "at" and
// "storedAt" are the events' store times. Offsets are eventstore.Offset
// strings. An answer has ten seconds to be written, and a second more per
// MiB: a client that stops reading is cut then.
//
// The Durable Streams endpoints mounted beside these (/v1/stream/...,
// package durablestreams) answer errors as text/plain and give times as
// epoch milliseconds: that is the Durable Streams protocol's format, which
// its clients (the official npm client, the conformance suite) expect, so
// it is kept there and not made to look like this package's.
//
// GET /v1/ answers an Index {"endpoints": [{"method", "path", "about"}]}:
// every endpoint of this package, its path with parameters in <> and
// optional query parameters in []. A query parameter an endpoint does not
// read is a 400 naming those it does, so that a typo (?verison=3) is not
// answered as if it were absent.
//
// POST /v1/commands/<category>/<id> with a body {"type": "PlaceOrder",
// ...fields} and an optional Idempotency-Key header handles one command
// (the key becomes aggregate.CommandID: the command is exactly-once on the
// instance for the life of its stream). 200 with a CommandResult
// {"version", "offset", "duplicate", "events": [Event]}. A decider's
// refusal (an invariant, which needs the state) is 409 with its message;
// bad JSON, a field C does not have, a value of the wrong type, a missing
// "type", a bad id, or a command its own Validate method refuses
// (Validator: fields that are wrong whatever the state, such as a
// quantity of 0) are 400 with a reason that names the field; an unknown
// category or command type is 404; a body over 1 MiB is 413. Nothing is
// decided or recorded under an Idempotency-Key for a 400.
//
// Idempotency-Key, as the IETF Idempotency-Key draft describes it: the key
// is recorded with a fingerprint of the request (aggregate.Fingerprint of
// the command's type and its fields as JSON, object keys sorted at every
// depth, values compacted and strings written again from their values, so
// whitespace, key order and escapes ("caf\u00e9" for "café") do not
// count; numbers count as written: 2.0 is not 2), whatever the
// command's outcome. A retry with the same key and the same command gets
// the first answer again and nothing is decided or stored: the same 200
// with "duplicate": true when it stored events or decided nothing, the
// same 409 and message when it was refused. The same key with another
// command (type or fields) is 422 and decides nothing. An
// Idempotency-Key header that is empty, given twice or over 1,024 bytes is
// 400 (an empty key never turns idempotency off quietly). There is no 409
// for a key still being processed: the key is recorded in the same commit
// as the command's outcome, so a request with a key whose first request is
// still running waits for the stream and gets that outcome (of two at
// once, one is stored and the other answers as its retry).
//
// GET /v1/state/<category>/<id>[?version=N | ?at=<time>] is the instance's
// State {"category", "id", "stream", "version", "at", "state"}: the current
// one, the one after version N, or the one after every event stored at or
// before the time. A version past the stream's is 400; an instance with no
// events is 404. Version 0, or a time before the instance's first event
// (the zero time 0001-01-01T00:00:00Z included), is its state before any
// event: version 0, "at" null, the aggregate's initial state. The times
// of diff and export read the same way.
//
// GET /v1/diff/<category>/<id>?from=<version|time>&to=<version|time> is a
// Diff {"from": State, "to": State, "changes": [Change], "events": [Event]}:
// the two states, the fields that differ, and the events after from up to to
// (the first 1,000 of them, and "more": how many follow, which the
// timeline lists from the version after the last one given).
// A Change is {"path": "items.sku-1.quantity", "from": <json>, "to": <json>}:
// object keys joined by ".", array indexes as numbers; a field added has
// "from": null, one removed has "to": null. Changes compare the states'
// JSON (encoding/json of the state type), so they name the fields as a
// client sees them.
//
// GET /v1/timeline/<category>/<id>[?from=V][&limit=N][&axis=true] is a
// page of the instance's events, oldest first, each an Event carrying the
// fields of the state it changed (which event changed a field, at a
// glance): a Timeline {"category", "id", "stream", "version", "from",
// "next", "events": [Event], "axis"}. version is the stream's version (how
// many versions it has: the total), from the first version of the page
// (default 1), next the first version of the next page or null on the
// last; limit is 1 to 1,000 (default 1,000). The page's first changes are
// against the state before from, loaded from the newest snapshot at or
// before it (aggregate.WithSnapshotEvery; at most a snapshot interval of
// events replayed), so a page costs its own events, wherever it is.
// With axis=true the answer also has "axis": {"start", "ms"}, the store time
// of every version of the stream for a time-scaled axis: start is version
// 1's time and ms[i] the milliseconds from version i's time to version
// i+1's (ms[0] is 0), counted so that ms[0] + … + ms[i] is version i+1's
// whole milliseconds since start, so a 10,000-event stream's axis is a few tens of
// kilobytes. The registry keeps the axes of streams of 1,000 versions or
// more (2,000,000 versions at most over all streams, the least recently
// used dropped first) and reads only the events appended since, so the
// first page of a long stream does not read the whole stream each time;
// a stream deleted and made again is told apart by its events' offsets
// and its axis read anew. A from past the stream's version, a from of 0, a limit out of
// bounds or an axis that is not true or false is 400; an instance
// without events is 404. The state at any version stays one request: GET
// /v1/state/<category>/<id>?version=N.
//
// An Event is {"version", "offset", "type", "storedAt", "id", "time",
// "commandId", "metadata", "data", "changes"}: id is the event's id (a
// UUID), time the producer's clock when it was appended
// (eventstore.Event.Time; storedAt is the store's), commandId the command
// id its Append recorded (a command sent with an Idempotency-Key records
// the key; "" if none), metadata its metadata ({} if none). The
// timeline, a diff and a command's answer give events in this shape; a
// command's events are read back as stored. One event's details, with
// what it changed, are GET /v1/timeline/<category>/<id>?from=V&limit=1.
//
// GET /v1/aggregates is Aggregates {"aggregates": [AggregateInfo]}, one
// per registered type, by category: {"category", "commands": [name],
// "commandTypes": [{"name", "schema"}], "eventTypes": [{"name",
// "version", "schema"}]}. A command's schema is the JSON Schema (draft
// 2020-12) of its request body, "type" (a const, the command's name)
// included; an event type's is that of its data, and version its schema
// version (aggregate.Schema). They are made from the Go types, once, when
// the command is made and the type registered (github.com/invopop/jsonschema):
// properties are the json tags' names, a field is required unless its tag
// says omitempty or omitzero, additionalProperties is false, nested structs
// are under "$defs" and referenced with "$ref", time.Time is a string of
// format date-time. A command body that lacks a required field, or gives it
// as null, is a 400 naming it (`field "quantity" is required`): the schema
// is what the server enforces, so a form built from it sends what is
// accepted.
//
// A category, wherever an endpoint takes one (streams, events, search),
// holds the streams under it ("carts/c1/events") and the stream named as
// the category itself ("carts"), as the store's category reads have it.
// GET /v1/streams[?category=c][&after=<name>][&limit=N][&total=true] lists
// streams with their heads (eventstore.Store.Streams), in name order, a
// page at a time: Streams {"streams": [{"name", "version", "offset",
// "storedAt", "closed"}], "next", "total"}. limit is 1 to 1,000 (default
// 1,000); next is the name to send as after= for the next page, null on
// the last; with total=true, total is how many streams the listing holds
// (counting them costs a walk of the rest of the list; left out
// otherwise). GET /v1/events?stream=<name> or
// ?category=<c>, with from=<offset>, limit=N (default 100, at most 1,000) and
// wait=<duration> (at most 60s), reads stored events {"events": [...],
// "next": "<offset>"}; with wait and nothing new it waits for the next
// event up to that long, then answers what came (an empty list if nothing),
// which is how `rewind read --follow` follows a stream. A page that
// reaches the end of a closed stream says "closed": true: nothing will
// come after it, so its wait answers at once, and a follower stops. The
// requests that
// wait on one category share one subscription, on at most 256 categories
// at once; a wait on another category past them looks for its event once
// a second instead. At most 10,000 requests wait at once, and a client
// known by its bearer token or TLS client certificate at most a quarter of
// them (requests without credentials share the whole); a wait past either
// is refused with 503 and Retry-After. At most 8 reads of the endpoint run
// at once (the others wait their turn), so the append that wakes a
// thousand waiters does not send a thousand reads to the store together.
// A server that stops calls Registry.Shutdown before its http.Server's
// Shutdown: the waits in progress answer at once, as if they had run out,
// so the drain does not wait for them and a follower polls again and
// finds the server gone, rather than getting an error.
//
// GET /v1/search?category=<c>[&type=T][&field=<path>&value=<json>][&eventId=<uuid>][&commandId=<key>][&cursor=<c>][&limit=N]
// finds the events of a category (every stream in it, in log order) that
// match every filter given, at least one: type, the event type; field and
// value, the event data's value at a JSON path (object keys and array
// indexes joined by ".", as a Change's path) equal to value, which is JSON
// (3, true, "mug", null) or else taken as a string (value=mug finds "mug");
// eventId, the event's id; commandId, the command id its Append recorded
// (the Idempotency-Key of its command). It answers a SearchResult
// {"events": [StoredEvent], "cursor", "scanned", "end"}: up to limit (1 to
// 500, default 50) events found, the cursor to send back to go on (the
// offset after the last event looked at), how many events the request
// looked at, and whether it reached the category's end. One request looks
// at no more than 20,000 events, so a search through a large category is
// a series of requests, each bounded, that the client follows by cursor
// (it may show what it found so far). The search reads the category's
// events; it has no index of its own (see the package's benchmark for its
// rate), except with eventId: that one event is looked up in the store's
// event-id index (eventstore.Store.EventByID), whatever the category's
// size, and the answer is whole in one request (end true, scanned 0 or 1,
// the cursor the log's end); the event is found if it is in the category,
// after the cursor and passes the other filters. A query parameter given twice or over 1,024 bytes, a missing or
// many-segment category, no filter, a bad UUID, cursor or limit are 400.
//
// GET /v1/export/<category>/<id>?to=<version|time>[&package=p][&def=expr]
// answers a Go test file (text/plain) that replays the instance's events up
// to that point (its end without to) with aggregatetest.Given and leaves the
// When and Then to write: a production bug becomes a test in one command.
// The server knows the aggregate only through reflection of its Go types,
// so the file assumes this: it goes into the package that declares the
// event types (package= names another, such as "orders_test", and then every
// type is qualified and imported); each event is a composite literal of its
// Go type, field by field (zero fields left out, times in UTC), or, for an
// event that has none (an unexported field set, a func, a non-finite float),
// a decode of its JSON; and the definition is the Go expression def= gives
// ("Orders()", "orderDefinition"), or else a variable def of the
// definition's type marked TODO, since no variable's name can be read from
// a running program. The test skips itself until its When and Then are
// written, so it compiles and runs from the moment it is saved. An export
// replays at most 10,000 events: past them it is 400, naming a to= that
// fits.
//
// # Access control
//
// Registry.Handler takes WithAuthorizer (package eventstore/access); every
// request is put to it before anything else: a command as access.Write of
// the instance's stream, a state, diff, timeline or export as access.Read
// of it, /v1/streams and /v1/search as access.Read of the category ("*"
// without one), /v1/events of its stream or category, /v1/aggregates and
// the index /v1/ of no resource in particular. A refusal is 401 or 403 with {"error"}; the default,
// access.Anonymous, refuses requests from clients beyond loopback,
// commands from pages of other origins and requests to a Host that is a
// foreign name. A command's body must be sent
// as Content-Type: application/json (415 otherwise), so that no "simple"
// cross-site request (text/plain, a form) can carry one.
package aggregatehttp
