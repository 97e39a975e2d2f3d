package access

import (
	"errors"
	"strconv"
)

// Sentinel errors of the package, matched with errors.Is.
var (
	// ErrUnauthenticated: the request carries no credential, or one that
	// is not valid (unknown, expired, badly signed). Over HTTP: 401 with
	// WWW-Authenticate.
	ErrUnauthenticated = errors.New("access: unauthenticated")
	// ErrForbidden: the request's credential, origin or host does not allow
	// what it asks. Over HTTP: 403.
	ErrForbidden = errors.New("access: forbidden")
	// ErrInvalidScope: a scope that does not follow the grammar (see the
	// package documentation).
	ErrInvalidScope = errors.New("access: invalid scope")
	// ErrInvalidTokens: a tokens file that cannot be read as one.
	ErrInvalidTokens = errors.New("access: invalid tokens file")
	// ErrInvalidKey: a JWT secret or key set that cannot be used.
	ErrInvalidKey = errors.New("access: invalid JWT key")
	// ErrInsecureListen: an address other than loopback for a server with
	// no authentication.
	ErrInsecureListen = errors.New("access: refusing to listen beyond loopback without authentication")
)

// UnauthenticatedError is a request refused for want of a valid
// credential. It matches ErrUnauthenticated.
type UnauthenticatedError struct {
	// Reason says what was wrong, for the client ("no bearer token",
	// "token expired"); it never holds the credential.
	Reason string
	// Invalid is true when a credential came but was not valid (RFC 6750's
	// invalid_token), false when none came.
	Invalid bool
}

// Error returns the reason, prefixed "access: unauthenticated: ".
func (e *UnauthenticatedError) Error() string { return "access: unauthenticated: " + e.Reason }

// Is reports whether target is ErrUnauthenticated.
func (e *UnauthenticatedError) Is(target error) bool { return target == ErrUnauthenticated }

// ForbiddenError is a request refused although it may be authenticated.
// It matches ErrForbidden.
type ForbiddenError struct {
	// Scope is the scope that would allow the request ("write:chat/room1"),
	// or "" when the refusal is not about scopes (a foreign Origin or Host).
	Scope string
	// Reason says why, for the client.
	Reason string
}

// Error names the missing scope, or else gives the reason, after
// "access: forbidden: ".
func (e *ForbiddenError) Error() string {
	if e.Scope != "" {
		return "access: forbidden: missing scope " + strconv.Quote(e.Scope)
	}
	return "access: forbidden: " + e.Reason
}

// Is reports whether target is ErrForbidden.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }
