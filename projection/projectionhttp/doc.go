// Package projectionhttp is the HTTP face of a projection.Runner: what each
// read model is doing and how far behind the log it is, and rebuilds with
// their progress, so that an operator (or `rewind projections` and `rewind
// rebuild`) can tell a stalled projection from a busy one and rebuild one
// without a shell on the server.
//
// Mount the handler beside the aggregate endpoints:
//
//	ph := projectionhttp.New(runner, map[string]projectionhttp.Rebuilder{
//		"order_summary": rebuildSummary,
//	})
//	defer ph.Close()
//	mux.Handle("/v1/projections", ph)
//	mux.Handle("/v1/projections/", ph)
//
// # Endpoints
//
// GET /v1/projections answers {"projections": [Projection]}, one per
// projection the runner knows, by name: {"name", "status", "position",
// "lagEvents", "lagSeconds", "error"}, where status is the projection.State
// ("live", "catching-up", "failed", ...), position the offset of the last
// event applied, lagEvents how many log commits lie between it and the
// newest event of the projection's own source (its category or streams and
// event types; projection.Status.LagCommits: 0 when it has applied all of
// them, whatever else the log holds), lagSeconds how long the oldest event
// of its source it has yet to apply has been stored (0 when none;
// projection.Status.LagTime), and error the reason it failed ("" otherwise).
// A failure's reason, a projection's or a rebuild's, is its handler's own
// text (a database's error may name its host, user or file): it is given
// whole to a client the Authorizer would let rebuild the projection
// (access.Admin of its name), and to others only as a sentence saying
// there is one.
// The list is sorted by name. Each entry also has "rebuild": the
// projection's last rebuild as GET /v1/projections/<name>/rebuild answers
// it (running, started, done, total, rate, etaSeconds, error ...), or
// null when no rebuild is registered for it, so that one request shows
// every projection's status, lag and rebuild progress.
//
// POST /v1/projections/<name>/rebuild starts the rebuild registered for name
// and answers 202 {"name", "started"}; 409 if one is running, 404 if none is
// registered for name. The rebuild runs in the handler's goroutine until it
// ends, Close is called, or the process exits; the request does not wait.
//
// GET /v1/projections/<name>/rebuild answers its progress, a Rebuild:
// {"name", "running", "started", "finished", "events", "done", "total",
// "rate", "etaSeconds", "error"}, where events is how many events were applied,
// done and total count log sequences (commits) through the part of the log
// the rebuild covers (done reaches total when the replay ends), rate is events per second and etaSeconds the estimate
// of the time left (projection.Progress). Before any rebuild, running is false
// and started null.
//
// Errors are {"error": "<short reason>"}, JSON like every answer; a known
// path asked with a method it does not take is 405 with an Allow header.
//
// Access control: New takes WithAuthorizer (package eventstore/access);
// starting a rebuild is access.Admin of the projection's name (of every
// resource for a projection named "metrics" or under "metrics/", since
// admin:metrics is the metrics scrape's scope and allows nothing else),
// the other endpoints access.Read of no resource in particular. A refusal
// is 401 or 403; the default, access.Anonymous, refuses requests from
// clients beyond loopback, rebuilds from pages of other origins and
// requests to a Host that is a foreign name. A rebuild must be asked for
// with Content-Type: application/json (415 otherwise), so that no form or
// other "simple" cross-site request can start one.
package projectionhttp
