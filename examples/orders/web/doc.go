// Package web is the orders example's time-travel page: one HTML page, a
// style sheet and a script, embedded in the binary (no build step, no
// framework), served by Handler at "/".
//
// The page is a client of the HTTP endpoints the example mounts beside it
// and of nothing else, so it works against any server that mounts them:
//
//   - GET /v1/aggregates lists the categories, and each command with the
//     JSON Schema of its body, from which the "run a command" form is
//     built; POST /v1/commands/<category>/<id> sends it (with an
//     Idempotency-Key of its own);
//   - GET /v1/streams?category=orders lists the streams to pick from;
//   - GET /v1/timeline/<category>/<id>?from=V&limit=64&axis=true gives the
//     events around the point a stream opens at, with the fields each one
//     changed, and the store time of every version (the time axis); then
//     the page asks for the pages of 200 events (limit=200, no axis) the
//     event list scrolls to or the slider reaches, and works as well with
//     a server that answers the whole timeline at once;
//   - GET /v1/state/<category>/<id>?version=N (or ?at=<time>) gives the
//     state at a point, shown exactly as that endpoint answers it;
//   - GET /v1/diff/<category>/<id>?from=&to= compares two versions or
//     times; GET /v1/export/... downloads the history as a Go test;
//   - GET /v1/projections and /v1/projections/<name>/rebuild (GET, POST)
//     show the read models, their lag, and a rebuild's progress;
//   - GET /v1/search?category=<c>&type=|id=|command=|field=&value=
//     searches a category's events (answering {"events", "next"}); on a
//     server without that endpoint the Search view says it cannot search;
//   - GET /v1/stream/<stream>?offset=<offset>&live=long-poll (the Durable
//     Streams endpoint) brings new events while the page is open; after a
//     failure the page asks without long-polling first, so that its
//     indicator says "live" as soon as the server answers again.
//
// The state shown is always the server's answer, never folded in the
// browser: the page must agree with the CLI and with the API to the byte,
// and the fold belongs to the aggregate's Go code. It is always the state
// of the point the page names: while a state loads the pane keeps the
// label of the version it shows, says which version it is loading once
// the load has taken 100 ms, and a load that fails puts its error in the
// state's place. A step of the slider asks for its state first and then
// moves the labels and the axis's cursor; the event list scrolls to the
// point once the slider has been still for 150 ms, so that a drag through
// a long stream spends each step on the state. One step's request is on
// its way at a time: the steps made meanwhile wait for its answer, and
// only the newest of them asks for its state.
//
// The address names what the page shows, so a link or Back and Forward
// bring it again: #orders/ord-00042/events@3 (a version),
// #orders/ord-00042/events@2026-12-04T15:00:00Z (a time), with
// &tab=diff&from=1&to=3 or &tab=event; #projections; #search. A version
// past a stream's end and a stream that does not exist are said in words.
//
// On a server with authentication the page sends a bearer token on every
// request, the long-poll included: opened as /#token=<token> (or a link
// to a point with &token=<token>), it keeps the token in sessionStorage
// (this tab only; a URL fragment never reaches a server or its logs) and
// drops it from the address; without one it asks for one on the first
// 401. A link the page copies never holds the token.
//
// Handler serves the files with a Content-Security-Policy that lets the
// page run its own script and style sheet and talk to its own origin,
// and nothing else (no inline script, no framing); the script puts every
// datum into the page as text, never as markup.
package web
