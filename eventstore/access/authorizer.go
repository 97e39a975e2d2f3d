package access

import (
	"errors"
	"net/http"
	"slices"
	"strings"
)

// Action is what a request is about to do.
type Action string

// The actions Rewind's handlers ask about.
const (
	// Read: a stream's events or metadata, a state, a timeline, a list.
	Read Action = "read"
	// Write: create or append to a stream, run a command.
	Write Action = "write"
	// Delete: delete a stream.
	Delete Action = "delete"
	// Admin: operations on the server's own machinery, such as rebuilding
	// a projection.
	Admin Action = "admin"
)

// Op is what a handler asks an Authorizer about: an action on a resource.
type Op struct {
	// Action is what the request is about to do.
	Action Action
	// Resource is what it is done to: a stream's name ("orders/42"), a
	// category ("orders") for a request about every stream in it, a
	// projection's name for Admin, "*" for a request about everything
	// (every stream's name), or "" for one about no resource in
	// particular (the list of aggregate types, the projections' status),
	// which any scope of the action allows.
	Resource string
}

// Scope returns the narrowest scope that allows op, the one a refusal
// names: "write:chat/room1", or "read" for an op on no resource; its name
// is escaped as a scope writes it ("read:a%20b" for the stream "a b").
func (op Op) Scope() string {
	if op.Resource == "" {
		return string(op.Action)
	}
	if op.Resource == "*" {
		return string(op.Action) + ":*"
	}
	return string(op.Action) + ":" + escapeName(op.Resource)
}

// An Authorizer decides whether an HTTP request may do op. It returns nil
// to allow it, an error matching ErrUnauthenticated when the request has
// no valid credential, and one matching ErrForbidden when its credential
// (or its origin) does not allow op. Every Rewind handler calls it at the
// entry of every request but CORS preflights, before it reads the body.
// It must be safe for concurrent use.
type Authorizer interface {
	Authorize(r *http.Request, op Op) error
}

// AuthorizerFunc adapts a function to an Authorizer.
type AuthorizerFunc func(r *http.Request, op Op) error

// Authorize calls f(r, op).
func (f AuthorizerFunc) Authorize(r *http.Request, op Op) error { return f(r, op) }

// Either returns an Authorizer that allows a request as soon as one of as
// does (for example static tokens and JWTs on one server). When none
// does, it returns the first refusal for a credential that was valid
// (ErrForbidden); when every one refused the credential, an
// *UnauthenticatedError with each distinct reason (an unknown static
// token is "unknown" to the tokens and "not signed" to the JWTs: the
// client sees both, not only the last, which may name the wrong kind); or
// else the last refusal.
func Either(as ...Authorizer) Authorizer { return either(as) }

// either is Either's Authorizer: a type of its own, so that Bearer can
// look at what it is made of.
type either []Authorizer

func (as either) Authorize(r *http.Request, op Op) error {
	var forbidden, last error
	var reasons []string
	invalid, allUnauth := false, true
	for _, a := range as {
		err := a.Authorize(r, op)
		if err == nil {
			return nil
		}
		if forbidden == nil && errors.Is(err, ErrForbidden) {
			forbidden = err
		}
		var unauth *UnauthenticatedError
		if errors.As(err, &unauth) {
			invalid = invalid || unauth.Invalid
			if !slices.Contains(reasons, unauth.Reason) {
				reasons = append(reasons, unauth.Reason)
			}
		} else {
			allUnauth = false
		}
		last = err
	}
	switch {
	case forbidden != nil:
		return forbidden
	case last == nil:
		return &UnauthenticatedError{Reason: "no authorizer"}
	case allUnauth && len(reasons) > 1:
		return &UnauthenticatedError{Reason: strings.Join(reasons, "; "), Invalid: invalid}
	}
	return last
}

// Bearer reports whether a allows a request only for a bearer token it
// carries (Tokens, JWT, or Either of them): a credential a browser never
// sends by itself. Anything else (Anonymous, whose server may still ask
// for client certificates, or an Authorizer of the caller's) is taken as
// ambient: a browser would send the credential, a cookie or a client
// certificate, with a page's <script src> to another origin, so an answer
// must not be embeddable there (Cross-Origin-Resource-Policy: same-origin).
func Bearer(a Authorizer) bool {
	switch a := a.(type) {
	case *Tokens, *JWT:
		return true
	case either:
		for _, x := range a {
			if !Bearer(x) {
				return false
			}
		}
		return len(a) > 0
	}
	return false
}

// Realm is the realm of the WWW-Authenticate challenges.
const Realm = "rewind"

// Refuse prepares the answer to a request an Authorizer refused with err:
// it sets WWW-Authenticate (RFC 6750) for 401 and 403 and Cache-Control:
// no-store, and returns the status code and a reason to write in the
// handler's own error format. An error matching neither ErrUnauthenticated
// nor ErrForbidden is 500 with a reason that does not repeat it.
func Refuse(w http.ResponseWriter, err error) (code int, reason string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	var unauth *UnauthenticatedError
	var forbidden *ForbiddenError
	switch {
	case errors.As(err, &unauth):
		if unauth.Invalid {
			h.Set("WWW-Authenticate", `Bearer realm="`+Realm+`", error="invalid_token", error_description="`+quoteSafe(unauth.Reason)+`"`)
		} else {
			h.Set("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
		}
		return http.StatusUnauthorized, "unauthenticated: " + unauth.Reason
	case errors.As(err, &forbidden):
		if forbidden.Scope != "" {
			h.Set("WWW-Authenticate", `Bearer realm="`+Realm+`", error="insufficient_scope", scope="`+quoteSafe(forbidden.Scope)+`"`)
			return http.StatusForbidden, "forbidden: this needs the scope " + forbidden.Scope
		}
		return http.StatusForbidden, "forbidden: " + forbidden.Reason
	case errors.Is(err, ErrUnauthenticated):
		h.Set("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
		return http.StatusUnauthorized, "unauthenticated"
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, "forbidden"
	}
	return http.StatusInternalServerError, "authorization failed on the server's side"
}

// quoteSafe drops what cannot stand in a quoted-string of a header.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
}

// BearerToken returns the token of the request's "Authorization: Bearer"
// header, and whether there is one.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// changes reports whether a request's method may change state.
func changes(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}
