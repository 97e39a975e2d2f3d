package durablestreams

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/rewindhq/rewind/eventstore"
	"github.com/rewindhq/rewind/eventstore/access"
	"github.com/rewindhq/rewind/internal/httpmethod"
	"github.com/rewindhq/rewind/internal/reason"
)

// authorize asks the handler's Authorizer whether r may do what its method
// does to stream name, and answers the refusal (false) when not. A fork's
// source must then be a stream of this server, named canonically, before
// its read is asked (400): a name with "." or ".." segments passed the
// check of the name it spelt and then named another stream.
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
		src, bad := h.forkSourceName(r, from)
		if bad != "" {
			fail(w, http.StatusBadRequest, bad)
			return false
		}
		err = h.cfg.auth.Authorize(r, access.Op{Action: access.Read, Resource: src})
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
// of r names: a name, a path under the prefix, or the URL of one on the
// server r was sent to; bad says why it names none (another server's URL,
// a name that is not a stream's).
func (h *Handler) forkSourceName(r *http.Request, from string) (name, bad string) {
	if strings.Contains(from, "://") {
		u, err := url.Parse(from)
		if err != nil || u.Host == "" {
			return "", "Stream-Forked-From " + reason.Quote(from) + " is not a URL, a path or a stream's name"
		}
		if !strings.EqualFold(u.Host, r.Host) {
			return "", "Stream-Forked-From " + reason.Quote(from) + " is on another server: a fork's source is a stream of this one"
		}
		from = u.Path
	}
	if s, ok := strings.CutPrefix(from, h.cfg.prefix); ok {
		from = s
	}
	from = strings.TrimPrefix(from, "/")
	if err := eventstore.CheckStreamName(from); err != nil {
		return "", "Stream-Forked-From " + reason.Quote(from) + " is not a stream's name (segments between slashes, none empty, \".\" or \"..\")"
	}
	return from, ""
}
