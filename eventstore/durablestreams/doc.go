// Package durablestreams serves a Rewind store over the Durable Streams
// HTTP protocol, so that browsers, mobile apps and the official
// @durable-streams/client read and write the same streams that Go code
// appends to and projects from.
//
// # One store, two doors
//
// The protocol's stream at /v1/stream/<name> is the store's stream <name>,
// and the offsets the handler hands out are the store's offsets: an offset
// a browser saved reads on from the same place in Go, and the other way
// round. Each message posted over HTTP is one event of type MessageType
// whose Data is the message: the bytes as sent, or, in a JSON stream, the
// JSON value (a body that is a JSON array appends each element as a
// message, in one commit). A POST is one commit, so a reader sees all of
// its messages or none.
//
// An event Go code appended (any type but MessageType) reads over HTTP, in
// a JSON stream, as an object:
//
//	{"type": "OrderPlaced", "id": "<uuid>", "version": 3,
//	 "timestamp": <store time, Unix ms>, "data": <the event's JSON data>}
//
// with "dataBase64" in place of "data" when the data is not JSON, and
// "metadata" when the event has any. In a byte stream it reads as its data.
// A stream that Go code made has no protocol metadata and is served as
// application/json. ReadOnly serves a category for reading only, so that
// streams written through an aggregate's deciders keep their invariants.
//
// # What the store keeps
//
// Everything a stream is lives in JetStream and survives restarts: its
// messages (events), its close (a commit, eventstore.WithClose, which
// makes an append and a close one atomic step), its idempotent producers'
// state (the store's own, eventstore.WithProducer: it is committed with
// the data it admits, in the same message, so a crash cannot separate
// them), and its configuration (content type, TTL, expiry, fork origin) as
// eventstore.Metadata. The Stream-Seq of a stream is kept on the last
// event of the append that carried it, so it too is committed with the
// data; its scope is the stream, and it is checked by the handler that
// takes the append (two servers writing one stream with Stream-Seq do not
// check each other's; idempotent producers, which the store checks, do).
// A Stream-Seq is at most 256 bytes: an ordering key, not a place for data.
//
// # Expiry
//
// A stream's TTL counts from its last read or append; a long-poll or SSE
// reader waiting at its tail uses it all the while. That last use is
// stored with the stream's metadata, so a restart and every server on the
// same NATS agree on it; to spare a busy stream a metadata write per
// request, a use is stored only when the stored one is a quarter of the
// TTL old, and the TTL counts from the stored use plus that quarter: a
// stream is never deleted early, and may outlive its TTL by a quarter of
// it. A PUT whose Stream-TTL is 0 or whose Stream-Expires-At is not in the
// future is refused (400). An expired stream is deleted by the first
// request that finds it, or by a sweep, always under the same per-stream
// lock as the writers and after looking again under it, so a PUT that
// makes the stream again or a fork that claims it is never undone.
//
// # Forks
//
// A fork is a stream of its own that reads its source's messages up to the
// fork point and then its own; since both live in one log, the fork's own
// messages have offsets after the fork point, and the fork shares its
// source's offsets up to it. A sub-offset fork copies the part of the
// message at the fork point it takes as its own first append. A source
// deleted while forks read from it is soft-deleted: it answers 410 and
// keeps its messages until its last fork is deleted.
//
// # Limits
//
// WithMaxBody bounds request bodies (413), and is never above what the
// store takes in one append (eventstore.Store.MaxAppendBytes): a body
// whose Content-Length is above it is refused before it is read. A JSON
// array of more messages than one append holds (eventstore.Store.
// CheckAppendSize) is refused with 413 as it is scanned, before its
// events are made.
// WithMaxBodiesInFlight bounds the bytes of request bodies held at once,
// and WithMaxAnswersInFlight the bytes of messages that answers being
// written hold (503 with Retry-After past either, after a second's wait).
// A catch-up answer's body is made in a buffer the handler keeps for later
// answers: at most one per answer in flight, none larger than twice
// WithChunkSize and 64 KiB, released by the garbage collector when idle.
// WithWriteTimeout
// bounds each write of an answer, so a client that stops reading a
// catch-up, long-poll or SSE answer is cut and holds neither memory nor a
// server's drain. WithMaxWaiting bounds the long-poll and SSE requests
// that wait at once (503 with Retry-After). The last Stream-Seq of at most
// 4096 recently written streams is kept in memory; another stream's is
// read again from its events. A producer's new Producer-Epoch may be at
// most 2^20 above its current one (400), so that no request can fence a
// producer id for good.
//
// # Stored data is not a page
//
// Every answer carries Content-Security-Policy: sandbox (with
// default-src 'none') and X-Content-Type-Options: nosniff, and a stream's
// data is served with Content-Disposition: attachment unless its type is
// one a browser shows as inert (JSON, plain text, CSV, NDJSON, octet
// stream): an HTML, SVG or XML stream opened in a browser cannot run
// scripts on the server's origin.
//
// # Errors
//
// Every 4xx answer carries a short plain-text reason, and a refused
// request changes nothing stored. A 5xx answer never carries an internal
// error: it says what the client can do and gives a request id, which is
// also in the server's log line for the error.
//
// # Access control
//
// Every request but a CORS preflight is first put to the handler's
// Authorizer (WithAuthorizer, package eventstore/access): GET and HEAD as
// access.Read of the stream, PUT and POST as access.Write (a fork's PUT
// also as access.Read of its source), DELETE as access.Delete. A refusal is
// 401 with a WWW-Authenticate Bearer challenge or 403 naming the scope
// needed, before the body is read. Without WithAuthorizer the handler uses
// access.Anonymous: no credential, but requests from clients beyond
// loopback, writes from pages of other origins and requests to a Host that
// is a foreign name (DNS rebinding) are 403.
// CORS answers stay "Access-Control-Allow-Origin: *", as the protocol's
// conformance suite requires: with bearer tokens a page of another origin
// can only use a token it was given. Cross-Origin-Resource-Policy is
// "cross-origin" only with bearer tokens (access.Bearer); with no
// credential or an ambient one (client certificates, which a browser sends
// with a page's <script src> too) it is "same-origin", so that a page of
// another origin cannot load a stream as a script or an image.
package durablestreams
