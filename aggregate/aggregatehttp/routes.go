package aggregatehttp

import (
	"net/http"

	"github.com/rewindhq/rewind/eventstore/access"
)

// route is one endpoint: what the index lists, what guard asks the
// Authorizer, and the handler.
type route struct {
	method, pattern string
	path            string // as the index shows it
	about           string
	action          access.Action
	resource        func(*http.Request) string
	serve           http.HandlerFunc
	// params are the query parameters the endpoint reads; any other is a
	// 400, so that a typo (?verison=3) is not answered as if it were not
	// there (the state now, for the state at version 3).
	params []string
}

// routes are the package's endpoints, in the order the index lists them.
func (r *Registry) routes() []route {
	return []route{
		{http.MethodGet, "/v1/{$}", "/v1/", "this list of endpoints",
			access.Read, noResource, r.serveIndex, nil},
		{http.MethodGet, "/v1/aggregates", "/v1/aggregates", "the aggregate types, their commands with each one's fields as JSON Schema, and their event types",
			access.Read, noResource, r.serveAggregates, nil},
		{http.MethodPost, "/v1/commands/{category}/{id}", "/v1/commands/<category>/<id>", "handle a command: a JSON body {\"type\": \"<Command>\", ...fields}, optional Idempotency-Key header",
			access.Write, r.instanceStream, r.serveCommand, nil},
		{http.MethodGet, "/v1/state/{category}/{id}", "/v1/state/<category>/<id>[?version=N|?at=<time>]", "an instance's state, now, after version N or at a time",
			access.Read, r.instanceStream, r.serveState, []string{"version", "at"}},
		{http.MethodGet, "/v1/diff/{category}/{id}", "/v1/diff/<category>/<id>?from=<version|time>&to=<version|time>", "what changed between two points, and the events between them",
			access.Read, r.instanceStream, r.serveDiff, []string{"from", "to"}},
		{http.MethodGet, "/v1/timeline/{category}/{id}", "/v1/timeline/<category>/<id>[?from=N][&limit=N][&axis=true]", "an instance's events, each with the fields it changed",
			access.Read, r.instanceStream, r.serveTimeline, []string{"from", "limit", "axis"}},
		{http.MethodGet, "/v1/export/{category}/{id}", "/v1/export/<category>/<id>[?to=<version|time>][&package=<name>][&def=<expr>]", "the history as a given/when/then Go test",
			access.Read, r.instanceStream, r.serveExport, []string{"to", "package", "def"}},
		{http.MethodGet, "/v1/streams", "/v1/streams[?category=c][&after=<name>][&limit=N][&total=true]", "streams and their heads, a page at a time in name order, with their number",
			access.Read, categoryOrAll, r.serveStreams, []string{"category", "after", "limit", "total"}},
		{http.MethodGet, "/v1/search", "/v1/search?category=<c>[&type=T][&field=<path>&value=<json>][&eventId=<uuid>][&commandId=<key>][&cursor=<c>][&limit=N]", "events of a category that match every filter given, with a cursor to go on from",
			access.Read, categoryOrAll, r.serveSearch, []string{"category", "type", "field", "value", "eventId", "commandId", "cursor", "limit"}},
		{http.MethodGet, "/v1/events", "/v1/events?stream=<name>|category=<c>[&from=<offset>&limit=N&wait=<duration>]", "stored events, in log order, optionally waiting for the next",
			access.Read, eventsResource, r.serveEvents, []string{"stream", "category", "from", "limit", "wait"}},
	}
}

// Index is the answer of GET /v1/: the endpoints this handler serves.
type Index struct {
	Endpoints []Endpoint `json:"endpoints"`
}

// Endpoint is one endpoint of the index: its method, its path with its
// parameters in <> and its query in [], and what it answers.
type Endpoint struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	About  string `json:"about"`
}

func (r *Registry) serveIndex(w http.ResponseWriter, _ *http.Request) {
	out := Index{Endpoints: []Endpoint{}}
	for _, rt := range r.routes() {
		out.Endpoints = append(out.Endpoints, Endpoint{Method: rt.method, Path: rt.path, About: rt.about})
	}
	writeJSON(w, http.StatusOK, out)
}
