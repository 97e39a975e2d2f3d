package aggregatehttp

import (
	"mime"
	"net/http"

	"github.com/rewindhq/rewind/eventstore/access"
)

// HandlerOption configures Registry.Handler. A nil HandlerOption is
// ignored.
type HandlerOption func(*handlerConfig)

type handlerConfig struct {
	auth access.Authorizer
}

// WithAuthorizer sets who may do what (see package eventstore/access).
// Every request is asked about before anything else: a command as
// access.Write of the aggregate's stream, a state, diff, timeline or
// export as access.Read of it, /v1/streams and /v1/search as access.Read
// of the category (of "*" without one), /v1/events as access.Read of its
// stream or category, /v1/aggregates and /v1/ as access.Read of no
// resource in particular.
// The default, access.Anonymous{}, takes requests without credentials from
// loopback only, and refuses commands from pages of other origins and
// requests to a Host that is a foreign name.
func WithAuthorizer(a access.Authorizer) HandlerOption {
	return func(c *handlerConfig) {
		if a != nil {
			c.auth = a
		}
	}
}

// guard asks auth whether req may do action to the resource of(req), and
// answers the refusal when not; commands must be application/json (415
// otherwise), so that a page on another site cannot send one as a
// "simple" cross-site request without a preflight.
func guard(auth access.Authorizer, action access.Action, of func(*http.Request) string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		if err := auth.Authorize(req, access.Op{Action: action, Resource: of(req)}); err != nil {
			code, reason := access.Refuse(w, err)
			writeError(w, code, reason)
			return
		}
		if action == access.Write && !isJSON(req.Header.Get("Content-Type")) {
			writeError(w, http.StatusUnsupportedMediaType, "a command's body must be sent as Content-Type: application/json")
			return
		}
		next(w, req)
	}
}

// isJSON reports whether a Content-Type is application/json.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// instanceStream is the stream of the request's aggregate instance, or its
// category when the type is unknown or the id invalid (the handler then
// answers 404 or 400).
func (r *Registry) instanceStream(req *http.Request) string {
	category := req.PathValue("category")
	if t, ok := r.lookup(category); ok {
		if stream, err := t.ops.streamOf(req.PathValue("id")); err == nil {
			return stream
		}
	}
	return category
}

// categoryOrAll is the query's category, or "*" for every stream.
func categoryOrAll(req *http.Request) string {
	if c := req.URL.Query().Get("category"); c != "" {
		return c
	}
	return "*"
}

// eventsResource is what /v1/events reads: its stream, its category, or
// everything.
func eventsResource(req *http.Request) string {
	if s := req.URL.Query().Get("stream"); s != "" {
		return s
	}
	return categoryOrAll(req)
}

func noResource(*http.Request) string { return "" }
