package durablestreams

import (
	"net/http"
	"strings"

	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/internal/httpmethod"
)

// authorize asks the handler's Authorizer whether r may do what its method
// does to stream name, and answers the refusal (false) when not.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, name string) bool {
	op := access.Op{Action: access.Write, Resource: name}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		op.Action = access.Read
	case http.MethodDelete:
		op.Action = access.Delete
	}
	err := h.cfg.auth.Authorize(r, op)
	if from := r.Header.Get(hForkedFrom); err == nil && from != "" && r.Method == http.MethodPut {
		err = h.cfg.auth.Authorize(r, access.Op{Action: access.Read, Resource: h.forkSourceName(from)})
	}
	if err == nil {
		return true
	}
	code, reason := access.Refuse(w, err)
	if code == http.StatusInternalServerError {
		// Any method reaches the authorizer, so a made-up one is "other".
		h.cfg.log.Error("durablestreams: authorizer failed", "method", httpmethod.Name(r.Method), "stream", name, "err", err)
	}
	fail(w, code, reason)
	return false
}

// forkSourceName returns the name of the stream a Stream-Forked-From header
// names: a name, a path under the prefix, or a URL.
func (h *Handler) forkSourceName(from string) string {
	if u, err := urlPath(from); err == nil {
		from = u
	}
	if s, ok := strings.CutPrefix(from, h.cfg.prefix); ok {
		from = s
	}
	return strings.TrimPrefix(from, "/")
}
