package projectionhttp

import (
	"mime"
	"net/http"

	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/observe"
)

// Option configures a Handler. A nil Option is ignored.
type Option func(*Handler)

// WithAuthorizer sets who may do what (see package eventstore/access):
// starting a rebuild is access.Admin of the projection's name (of every
// resource, "*", for a projection named "metrics" or under "metrics/":
// admin:metrics is the scope of a metrics scrape, observe.MetricsOp, and
// allows nothing else), the projections' status and a rebuild's progress are access.Read of no
// resource in particular. The default, access.Anonymous{}, takes requests
// without credentials from loopback only, and refuses rebuilds from pages
// of other origins and requests to a Host that is a foreign name.
func WithAuthorizer(a access.Authorizer) Option {
	return func(h *Handler) {
		if a != nil {
			h.auth = a
		}
	}
}

// guard asks the Authorizer about every request before the routes see it,
// and takes a rebuild only as application/json (415 otherwise), so that a
// page on another site cannot start one with a form or a "simple"
// cross-site request.
func (h *Handler) guard(w http.ResponseWriter, r *http.Request) bool {
	op := access.Op{Action: access.Read}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		op = access.Op{Action: access.Admin, Resource: adminResource(r.PathValue("name"))}
	}
	if err := h.auth.Authorize(r, op); err != nil {
		code, reason := access.Refuse(w, err)
		writeError(w, code, reason)
		return false
	}
	if op.Action == access.Admin {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "a rebuild must be asked for with Content-Type: application/json")
			return false
		}
	}
	return true
}

// adminResource is the resource a rebuild of the projection name asks
// Admin of: the name, unless the scrape's scope (admin:metrics, which
// must allow nothing but the scrape) would allow it, as the scopes'
// own rule decides; then every resource.
func adminResource(name string) string {
	op := access.Op{Action: access.Admin, Resource: name}
	if scrape, err := access.ParseScope(observe.MetricsOp.Scope()); err == nil && scrape.Allows(op) {
		return "*"
	}
	return name
}

// guarded runs next once guard allowed the request.
func (h *Handler) guarded(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.guard(w, r) {
			next(w, r)
		}
	}
}
