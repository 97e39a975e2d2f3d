// Package web is the orders example's time-travel page: one HTML page, a
// style sheet and a script, embedded in the binary (no build step, no
// framework), served by Handler at "/".
//
// The page is a client of the HTTP endpoints the example mounts beside it
// and of nothing else, so it works against any server that mounts them:
//
//   - GET /v1/streams?category=orders lists the streams to pick from;
//   - GET /v1/timeline/<category>/<id> gives a stream's events with the
//     fields each one changed;
//   - GET /v1/state/<category>/<id>?version=N gives the state at a point,
//     shown exactly as that endpoint answers it;
//   - GET /v1/stream/<stream>?offset=<offset>&live=long-poll (the Durable
//     Streams endpoint) brings new events while the page is open.
//
// The state shown is always the server's answer, never folded in the
// browser: the page must agree with the CLI and with the API to the byte,
// and the fold belongs to the aggregate's Go code.
//
// On a server with authentication the page sends a bearer token on every
// request, the long-poll included: opened as /#token=<token>, it keeps the
// token in sessionStorage (this tab only; a URL fragment never reaches a
// server or its logs) and drops it from the address; without one it asks
// for one on the first 401.
package web
