// Package app wires the orders example into one server: the embedded event
// store, the aggregates with their HTTP commands, the SQLite read models and
// their projections, the Durable Streams endpoint and the time-travel page,
// all on one http.ServeMux:
//
//	/v1/stream/       Durable Streams (orders, users, workspaces read-only)
//	/v1/projections   projection status and rebuilds (projectionhttp)
//	/v1/              commands, state, diff, timeline, export, streams,
//	                  events (aggregatehttp)
//	/                 the time-travel page (package web)
//
// Start runs it on a data directory ("events" holds the store,
// "readmodels.db" the read models) and seeds a history on the first start.
// Its tests, and those of the CLI and of the page, start the whole
// application on a free port with a small seed.
//
// Every handler asks one Authorizer (package eventstore/access): the one
// Config.Access describes (tokens, JWT, or none), or Config.Authorizer.
// Without authentication Start refuses an address beyond loopback unless
// Config.Access.InsecureNoAuth. The server is access.NewServer's, with TLS
// when Config.Access names a certificate. The page itself (/) is served to
// anyone: it holds no data, and asks for a token when the API wants one.
package app
