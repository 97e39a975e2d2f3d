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
// check each other's; idempotent producers, which the store checks, do). A TTL counts from the stream's last read
// or append as this process saw it; after a restart it counts from the
// restart at the latest.
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
// WithMaxBody bounds request bodies (413), WithMaxWaiting the long-poll
// and SSE requests that wait at once (503 with Retry-After). Every 4xx
// answer carries a short plain-text reason, and a refused request changes
// nothing stored.
//
// # Access control
//
// Every request but a CORS preflight is first put to the handler's
// Authorizer (WithAuthorizer, package eventstore/access): GET and HEAD as
// access.Read of the stream, PUT and POST as access.Write (a fork's PUT
// also as access.Read of its source), DELETE as access.Delete. A refusal is
// 401 with a WWW-Authenticate Bearer challenge or 403 naming the scope
// needed, before the body is read. Without WithAuthorizer the handler uses
// access.Anonymous: no credential, but writes from pages of other origins
// and requests to a Host that is a foreign name (DNS rebinding) are 403.
// CORS answers stay "Access-Control-Allow-Origin: *", as the protocol's
// conformance suite requires: with bearer tokens a page of another origin
// can only use a token it was given.
package durablestreams
